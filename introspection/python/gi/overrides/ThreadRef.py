# ThreadRef.py: PyGObject override for the ThreadRef namespace
#
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python's ``threadref`` API on threadref, and the GObject classes made
Pythonic.

After ``from gi.repository import ThreadRef``:

* ``ThreadRef.ref(callback=None)`` and ``ThreadRef.finalize(func, /, *args,
  **kwargs)`` are the ``threadref`` package's ``ref`` and ``finalize``
  (``weakref.ref`` and ``weakref.finalize`` pointed at the current thread),
  in the thread's newest-first order together with C registrations.
* ``ThreadRef.Ref`` and ``ThreadRef.Finalize`` take ``new(func,
  *user_data)`` and ``ThreadRef.Finalize(func, *args)``.

How (docs/design.md, Python):

* No GI closure per registration. One ``ThreadRef.Dispatcher`` serves the
  process: a registration goes into the *batch* that is the thread's newest
  registration (one C call), and when the thread ends each batch is
  dispatched in its turn and its entries run here, newest first.
* Every Python thread's lifetime ends when its ``run()`` is over, before
  the thread leaves ``threading``'s books (``Thread._delete``), also when
  only C code registered on it: callbacks see
  the thread as it was (its ``threading.local`` values, its
  ``current_thread()``), and ``join()`` returns after them. What registers
  later, while Python releases the thread's state, ends on the spot.
* At interpreter exit, Python's ``atexit`` runs ``ThreadRef.run_atexit()``
  while Python can still run callbacks; what is registered after that is
  refused with a ``RuntimeWarning``.
* Exceptions in callbacks, ``SystemExit`` and ``KeyboardInterrupt``
  included, are reported through ``sys.unraisablehook`` (``sys.excepthook``
  at exit) as ``weakref.finalize`` reports them; the other callbacks run.
"""

import atexit as _atexit
import itertools
import os
import signal as _signal
import sys
import threading
import traceback
import warnings
import weakref
from _thread import get_ident as _get_ident

from gi.repository import GObject as _GObject

from ..module import get_introspection_module
from ..overrides import override

ThreadRef = get_introspection_module('ThreadRef')

__all__ = ['ref', 'finalize']

_main_thread = threading.main_thread()
_DummyThread = threading._DummyThread

# State of the interpreter's exit: 0 running, 1 in our atexit handler, 2 done.
_exit_state = 0
# Batch id -> _Batch; lifetime id -> _Lifetime. Ids come from C.
_batches = {}
_lifetimes = {}
# Batches dispatched before Python learnt their id (a lifetime that ended
# on the spot inside the C call).
_dispatched_early = set()
# Held while a batch becomes known here (and while a watch adds its entry),
# and while a dispatch takes its batch: the thread a watch registers on may
# dispatch the batch as soon as C has returned its id to the watcher, and
# must find the watch's entry in it. Reentrant: a dispatch may come inside
# a C call made under it.
_batch_lock = threading.RLock()
# Python threads whose run() is over: ident -> Thread. Registrations there
# (Python is releasing the thread's state) end on the spot. An entry whose
# teardown is over is stale: its ident may be a new thread's (see
# _finishing()).
_finished = {}
# Per thread: the lifetime registrations go to, as a fast path.
_tls = threading.local()
# The order of all registrations (entry._seq), across threads: at exit,
# Python's finalizers run newest first across threads, as weakref.finalize's.
_seqs = itertools.count(1)
# At interpreter exit: the other threads' live ThreadRef.finalize entries,
# oldest first, that run between the exiting thread's own (see
# _run_newer_at_exit()).
_exit_others = []
_exit_ident = None   # the thread that runs them
# How deep the calling thread is in dispatches (per thread, by ident).
_depth = {}
# Lifetime id -> _Lifetime whose thread still runs after an exit pass made
# while the interpreter goes on (ThreadRef.run_atexit() called by the
# program): its kept entries, newest first, run when the lifetime ends.
_kept = {}


class _Anchor(object):
    """What ``ref`` objects of one thread lifetime point at: alive until the
    lifetime starts ending."""

    __slots__ = ('__weakref__', 'thread')


def _no_object():
    # An entry's object before it is made: the entry is in its batch already
    # (see _register()), and _compact() must not take it for a dropped one.
    return None


class _Lifetime(object):
    __slots__ = ('id', 'ident', 'thread', 'anchor', 'ending', 'pending', 'kept')


class _Batch(object):
    # limit: the length at which entries is next rid of entries that have
    # nothing left to run (see _compact()).
    __slots__ = ('entries', 'lifetime', 'closed', 'limit')

    def __init__(self, lifetime, entries):
        self.entries = entries
        self.lifetime = lifetime
        self.closed = False
        self.limit = _COMPACT_MIN


# Below this many entries a batch is never compacted.
_COMPACT_MIN = 64


def _report(obj):
    """Reports the exception being handled the way weakref.finalize does.
    Whatever the hook raises in turn (KeyboardInterrupt included) is written
    out as Python writes it, and stops nothing: the other callbacks run."""
    exc_type, exc_value, exc_tb = sys.exc_info()
    if _exit_state:
        hook = sys.excepthook
        try:
            hook(exc_type, exc_value, exc_tb)
        except BaseException:
            _write_unraisable('Exception ignored in sys.excepthook', hook, *sys.exc_info())
        return
    hook = sys.unraisablehook
    if hook is sys.__unraisablehook__:
        # The default hook takes only its own argument type, which Python
        # code cannot make: write what it writes.
        _write_unraisable('Exception ignored in', obj, exc_type, exc_value, exc_tb)
        return
    args = _UnraisableArgs(exc_type, exc_value, exc_tb, None, obj)
    try:
        hook(args)
    except BaseException:
        _write_unraisable('Exception ignored in sys.unraisablehook', hook, *sys.exc_info())


def _write_unraisable(what, obj, exc_type, exc_value, exc_tb):
    try:
        stream = sys.stderr
        stream.write('%s: %r\n' % (what, obj))
        stream.write(''.join(traceback.format_exception(exc_type, exc_value, exc_tb)))
        stream.flush()
    except BaseException:
        pass


class _UnraisableArgs(object):
    """The attributes of sys.UnraisableHookArgs, for a custom hook."""

    __slots__ = ('exc_type', 'exc_value', 'exc_traceback', 'err_msg', 'object')

    def __init__(self, exc_type, exc_value, exc_traceback, err_msg, obj):
        self.exc_type = exc_type
        self.exc_value = exc_value
        self.exc_traceback = exc_traceback
        self.err_msg = err_msg
        self.object = obj


def _in_teardown(thread):
    """Whether Python is still releasing the state of thread, whose run() is
    over. Once that is done its ident is free: glibc reuses the stack, so a
    new thread (made by C code, or by _thread) often gets the same one."""
    lock = getattr(thread, '_tstate_lock', None)
    if lock is not None:
        return lock.locked()   # released with the thread state (< 3.13)
    handle = getattr(thread, '_handle', None)
    if handle is not None:
        return not handle.is_done()   # Python 3.13 and later
    return False   # joined: its teardown is over


def _finishing(ident):
    """Whether the thread ident is a Python thread whose run() is over and
    whose state Python is releasing, not a new thread with its ident."""
    thread = _finished.get(ident)
    if thread is None:
        return False
    if _in_teardown(thread):
        return True
    _finished.pop(ident, None)   # stale
    return False


def _thread_run_over(thread, delete):
    """Replaces thread._delete: ends the thread's lifetime while Python still
    knows the thread, then lets threading forget it."""
    try:
        ThreadRef.end_lifetime()
        _run_kept(thread.ident)
    finally:
        if len(_finished) > 64:
            # Forget threads whose teardown is over: only threads in the
            # middle of it count.
            for ident, other in list(_finished.items()):
                if not _in_teardown(other):
                    _finished.pop(ident, None)
        _finished[thread.ident] = thread
        delete()


def _watch_thread(thread):
    """A Python thread registers: an ident it reuses is no longer that of a
    thread whose run() is over."""
    if thread is _main_thread or isinstance(thread, _DummyThread):
        # The main thread ends at interpreter exit; a thread made by C
        # code ends through threadref's own thread-exit hooks.
        return
    _finished.pop(thread.ident, None)


def _hook_threads():
    """Makes every Python thread's lifetime end with its run(), from
    Thread._delete: also a thread on which only C code (a library that
    uses threadref) registered, which Python never sees register, and
    threads started before this module was imported. For a thread that
    never used threadref it is one cheap C call."""
    delete = getattr(threading.Thread, '_delete', None)
    if delete is None:
        return

    def _delete(self):
        if isinstance(self, _DummyThread):
            delete(self)
        else:
            _thread_run_over(self, lambda: delete(self))

    threading.Thread._delete = _delete


_hook_threads()


def _new_lifetime(lifetime_id, own):
    lifetime = _Lifetime()
    lifetime.id = lifetime_id
    lifetime.ending = False
    lifetime.pending = 0
    lifetime.kept = None
    lifetime.anchor = _Anchor()
    lifetime.ident = None
    lifetime.thread = lifetime.anchor.thread = None
    if own:
        _own_lifetime(lifetime)
    _lifetimes[lifetime_id] = lifetime
    return lifetime


def _own_lifetime(lifetime):
    """lifetime is the calling thread's: learn which thread that is."""
    lifetime.ident = ident = _get_ident()
    thread = threading._active.get(ident)
    if thread is None and not _finishing(ident):
        thread = threading.current_thread()   # a thread made by C code
    if thread is not None:
        _watch_thread(thread)
    lifetime.thread = thread
    if lifetime.anchor is not None:
        lifetime.anchor.thread = thread


def _get_batch(batch_id, lifetime_id, own):
    if batch_id == 0:
        return None
    batch = _batches.get(batch_id)
    if batch is None:
        with _batch_lock:
            batch = _new_batch(batch_id, lifetime_id, own)
    return batch


def _new_batch(batch_id, lifetime_id, own):
    """The batch batch_id, made known here (under _batch_lock)."""
    batch = _batches.get(batch_id)
    if batch is None:
        # Still unknown: another thread (a watch) may have joined the batch
        # between our C call and the lock, and made it known first.
        lifetime = _lifetimes.get(lifetime_id)
        if lifetime is None:
            lifetime = _new_lifetime(lifetime_id, own)
        elif own and lifetime.ident is None:
            # First seen through a watch from another thread.
            _own_lifetime(lifetime)
        batch = _Batch(lifetime, [])
        batch.closed = batch_id in _dispatched_early
        if batch.closed:
            _dispatched_early.discard(batch_id)
        else:
            lifetime.pending += 1
            _batches[batch_id] = batch
        if own and not lifetime.ending:
            _tls.lifetime = lifetime
    return batch


def _refused(what):
    warnings.warn('ThreadRef: %s made after interpreter exit began (or on a thread '
                  'that takes no more registrations) is refused: it will never run'
                  % what, RuntimeWarning, stacklevel=_caller_level())


def _refused_if_alive(cref, what):
    """A registration on the thread cref refers to was not made: if that
    thread still runs, the dispatcher is closed (after our exit handler),
    and None, which tells "it has ended", would mislead the caller: warn as
    for every other registration refused then."""
    if _exit_state and ThreadRef.Ref.is_alive(cref):
        _refused(what)


def _caller_level():
    """The stacklevel of _refused()'s warning that names the first frame
    outside this module: the user's line, however deep in the override the
    registration was refused."""
    level = 2   # _refused()'s caller
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
        level += 1
    return level


def _register(entry, what):
    """Adds entry to the calling thread's newest batch, and returns that
    batch; None if refused."""
    entry._seq = next(_seqs)
    batch = _get_batch(*_dispatcher.batch(), True)
    if batch is None:
        _refused(what)
        return None
    entries = batch.entries
    entries.append(entry)
    if batch.closed:
        # Dispatched already (the exit pass took it, or its lifetime ended
        # on the spot): what was added late runs now.
        _run_entries(batch, _get_ident())
    elif _finished and _get_ident() in _finished:
        _end_if_finished()
    elif len(entries) >= batch.limit:
        _compact(batch)
    return batch


def _compact(batch):
    """Drops the entries of batch that have nothing left to run (detached or
    called finalizers, dropped refs), as weakref.finalize and weakref.ref
    free theirs: a thread that lives on and keeps registering would keep
    them all until its end. The limit doubles with what stays, so each
    registration pays O(1) on average."""
    with _batch_lock:   # a watch may add to the batch from another thread
        if batch.closed:
            return
        entries = batch.entries
        entries[:] = [entry for entry in entries if not entry._threadref_done()]
        batch.limit = max(_COMPACT_MIN, 2 * len(entries))


def _register_for(cref, entry):
    """Adds entry to the newest batch of the thread cref refers to, and
    returns that batch; None if that thread has ended."""
    entry._seq = next(_seqs)
    with _batch_lock:
        # The other thread's dispatch of this batch waits for the lock: the
        # entry is in the batch before it runs.
        batch = _get_batch(*_dispatcher.batch_for(cref), False)
        if batch is None:
            return None
        batch.entries.append(entry)
        closed = batch.closed
        if not closed and len(batch.entries) >= batch.limit:
            _compact(batch)
    if closed:
        # Dispatched inside our own C call (on this thread): run it here.
        _run_entries(batch, _get_ident())
    return batch


def _end_if_finished():
    """A registration on a thread whose run() is over (Python is releasing
    its state): nothing would end its lifetime before join() returns, so it
    ends now."""
    ident = _get_ident()
    if (ident in _finished and not _depth.get(ident) and ident not in threading._active
            and _finishing(ident)):
        ThreadRef.end_lifetime()


def _current_lifetime():
    """The lifetime of the calling thread that registrations go to."""
    try:
        lifetime = _tls.lifetime
        if not lifetime.ending:
            return lifetime
    except AttributeError:
        pass
    batch = _get_batch(*_dispatcher.batch(), True)
    if batch is None:
        return None
    _end_if_finished()
    lifetime = batch.lifetime
    if not lifetime.ending:
        _tls.lifetime = lifetime   # (a batch made before was not cached)
    return lifetime


def _dispatch(batch_id):
    """The dispatcher's function: runs one batch, or one ThreadRef.Finalize,
    on the ending thread or, at process exit, on the exiting one. An id
    with _DETACHED set: that ThreadRef.Finalize was detached (by C code too,
    on any thread), and what it would have run is let go now."""
    if batch_id & _DETACHED:
        with _batch_lock:
            call = _take_finalizer_call(batch_id & ~_DETACHED)
        del call   # its function and arguments go here, outside the lock
        return
    with _batch_lock:
        batch = _batches.pop(batch_id, None)
        if batch is None:
            call = _take_finalizer_call(batch_id)
            if call is None:
                _dispatched_early.add(batch_id)
                return
        else:
            batch.closed = True
            own = _close_batch(batch)
    if batch is None:
        _run_finalizer_call(call)
    else:
        _run_entries(batch, _get_ident(), own)


def _close_batch(batch):
    """Bookkeeping of a batch taken for its dispatch; whether the calling
    thread is the batch's own."""
    lifetime = batch.lifetime
    ident = _get_ident()
    own = lifetime.ident == ident or lifetime.ident is None and not _exit_state
    if own and not lifetime.ending:
        # The lifetime is ending: every ref to it is dead from now on.
        lifetime.ending = True
        lifetime.anchor = None
        try:
            if _tls.lifetime is lifetime:
                del _tls.lifetime
        except AttributeError:
            pass
        if _kept.pop(lifetime.id, None) is not None:
            # What an exit pass left for the end: older than the batch's
            # entries, so it runs after them.
            batch.entries[:0] = reversed(lifetime.kept)
            lifetime.kept = None
    lifetime.pending -= 1
    if lifetime.pending <= 0 and lifetime.ending:
        _lifetimes.pop(lifetime.id, None)
    return own


def _run_entries(batch, ident, own=True):
    # Another thread's batch is dispatched here only by an exit pass: the
    # interpreter's, or ThreadRef.run_atexit() called by the program.
    at_exit = _exit_state != 0 or not own
    entries = batch.entries
    kept = []
    _depth[ident] = _depth.get(ident, 0) + 1
    try:
        while entries:
            entry = entries.pop()
            if _exit_others and own and ident == _exit_ident:
                _run_newer_at_exit(entry._seq)
            try:
                if entry._threadref_fire(own, at_exit):
                    kept.append(entry)
            except BaseException:
                _report(entry)
    finally:
        depth = _depth.pop(ident) - 1
        if depth:
            _depth[ident] = depth
        if kept and not _exit_state:
            _keep(batch.lifetime, kept)


def _run_newer_at_exit(seq):
    """At interpreter exit, the exiting thread's entry seq is next: the
    other threads' finalizers registered after it run first (C runs the
    exiting thread's whole lifetime first, then the other threads')."""
    while _exit_others and _exit_others[-1]._seq > seq:
        entry = _exit_others.pop()
        try:
            entry._threadref_fire(False, True)
        except BaseException:
            _report(entry)


def _collect_exit_others():
    """The other threads' live finalizers at exit, oldest first."""
    me = _get_ident()
    with _batch_lock:
        others = [entry for batch in _batches.values() if batch.lifetime.ident != me
                  for entry in batch.entries
                  if isinstance(entry, finalize) and entry._atexit and entry._info]
    others.sort(key=lambda entry: entry._seq)
    return others


def _keep(lifetime, kept):
    """An exit pass while the interpreter goes on left kept (newest first)
    of a thread that still runs: as in C, they wait for its end."""
    with _batch_lock:
        if lifetime.kept is None:
            lifetime.kept = kept
        else:
            lifetime.kept.extend(kept)   # an older batch's: after the newer
        _kept[lifetime.id] = lifetime


def _run_kept(ident):
    """The thread ident's lifetime has ended without a batch of it being
    dispatched on it: what an exit pass kept for that end runs now."""
    if not _kept:
        return
    with _batch_lock:
        lifetimes = [lifetime for lifetime in _kept.values() if lifetime.ident == ident]
        for lifetime in lifetimes:
            del _kept[lifetime.id]
    for lifetime in lifetimes:
        lifetime.ending = True
        lifetime.anchor = None
        batch = _Batch(lifetime, list(reversed(lifetime.kept)))
        batch.closed = True
        lifetime.kept = None
        _run_entries(batch, ident)


# THREADREF_DISPATCHER_DETACHED (a C macro, not introspected).
_DETACHED = 1 << 63

_dispatcher = ThreadRef.Dispatcher.new(_dispatch)


# --- the threadref package's API ------------------------------------------


class _RefEntry(object):
    """A batch's entry for a ref with a callback: holds the ref weakly."""

    __slots__ = ('ref', '_seq')

    def __init__(self, ref):
        self.ref = weakref.ref(ref) if ref is not None else _no_object

    def _threadref_fire(self, own, at_exit):
        """Runs the entry; True if it must wait for its thread's end."""
        ref = self.ref()
        if ref is None or not own:
            # Dropped, or a thread that still runs at process exit.
            return ref is not None
        callback = ref._callback
        if callback is not None:
            ref._callback = None
            try:
                callback(ref)
            except BaseException:
                _report(callback)

    def _threadref_done(self):
        if self.ref is _no_object:
            return False   # its ref is being made (see _register())
        ref = self.ref()
        return ref is None or ref._callback is None

    def _threadref_gone(self):
        ref = self.ref()   # its thread did not survive a fork: never called
        if ref is not None:
            ref._callback = None

    def __repr__(self):
        return '<ThreadRef.ref entry %r>' % (self.ref(),)


def _dead_anchor():
    anchor = _Anchor()
    anchor.thread = None
    return anchor


def _anchor_of(lifetime):
    anchor = lifetime.anchor if lifetime is not None else None
    if anchor is None:
        # Made while the thread ends (or refused): dead from the start,
        # but its callback still runs with the end.
        anchor = _dead_anchor()
    return anchor


def _ref_with_callback(cls, callback):
    """A ThreadRef.ref with a callback: its entry goes in first, and the ref
    refers to the lifetime of the batch C gave it, which is the thread's
    current one even if C code opened a nested lifetime since the thread's
    last registration."""
    entry = _RefEntry(None)
    batch = _register(entry, 'a ThreadRef.ref callback')
    self = weakref.ref.__new__(cls, _anchor_of(batch.lifetime if batch is not None else None))
    self._callback = None
    if batch is not None:
        self._callback = callback
        entry.ref = weakref.ref(self)
        if batch.closed:
            # The lifetime ended in the registration (on the spot).
            entry._threadref_fire(True, _exit_state != 0)
    return self


class ref(weakref.ref):
    """A weak reference to the current thread, as ``threadref.ref``.

    Calling it gives the ``threading.Thread`` while the thread runs, else
    ``None``. The callback, if any, is called once with the reference, on
    the ending thread, newest first among the thread's registrations; not if
    the reference was dropped before.
    """

    __slots__ = ('_callback', '__weakref__')

    def __new__(cls, callback=None):
        if callback is not None:
            return _ref_with_callback(cls, callback)
        try:
            lifetime = _tls.lifetime
            if lifetime.ending:
                raise AttributeError
        except AttributeError:
            lifetime = _current_lifetime()
        self = weakref.ref.__new__(cls, _anchor_of(lifetime))
        self._callback = None
        return self

    def __init__(self, callback=None):
        pass

    def __call__(self):
        anchor = weakref.ref.__call__(self)
        return None if anchor is None else anchor.thread

    @property
    def __callback__(self):
        return self._callback

    def __repr__(self):
        thread = self()
        if thread is None:
            return '<threadref %r dead>' % (id(self),)
        return '<threadref %r %r>' % (id(self), thread)


class finalize(weakref.finalize):
    """A finalizer for the current thread, as ``threadref.finalize``: like
    ``weakref.finalize`` pointed at the thread.

    ``func(*args, **kwargs)`` runs once: on the thread as it ends (newest
    first among the thread's registrations), at interpreter exit if
    ``atexit`` is true, or when the finalizer is called. It keeps itself
    alive until then.
    """

    __slots__ = ('_info', '_atexit', '_lifetime', '_seq', '__weakref__')

    def __init__(self, func, /, *args, **kwargs):
        self._atexit = True
        self._lifetime = None
        self._info = [(func, args, kwargs or None)]
        batch = _register(self, 'a ThreadRef.finalize')
        if batch is None:
            self._info = []
        else:
            self._lifetime = batch.lifetime

    def _threadref_fire(self, own, at_exit):
        if at_exit and not self._atexit:
            # As weakref.finalize: never at exit. A thread that still runs
            # keeps it for its end.
            return not own
        try:
            func, args, kwargs = self._info.pop()
        except IndexError:
            return
        if kwargs is None:
            func(*args)
        else:
            func(*args, **kwargs)

    def _threadref_done(self):
        return not self._info

    def _threadref_gone(self):
        del self._info[:]   # its thread did not survive a fork: never runs

    def __call__(self, _=None):
        try:
            func, args, kwargs = self._info.pop()
        except IndexError:
            return None
        return func(*args, **(kwargs or {}))

    def detach(self):
        try:
            func, args, kwargs = self._info.pop()
        except IndexError:
            return None
        return (self._thread(), func, args, dict(kwargs or {}))

    def peek(self):
        info = self._info
        if not info:
            return None
        func, args, kwargs = info[0]
        return (self._thread(), func, args, dict(kwargs or {}))

    def _thread(self):
        lifetime = self._lifetime
        return lifetime.thread if lifetime is not None else None

    @property
    def alive(self):
        return bool(self._info)

    @property
    def atexit(self):
        return self._atexit

    @atexit.setter
    def atexit(self, value):
        self._atexit = bool(value)

    def __repr__(self):
        state = self.peek()
        if state is None:
            return '<threadfinalize %r dead>' % (id(self),)
        return '<threadfinalize %r %r>' % (id(self), state[0])


# --- signals while a lifetime ends on the main thread ----------------------

# Python runs a signal's handler on the main thread, between any two
# bytecodes: one that raises (KeyboardInterrupt, Ctrl-C) in the middle of a
# dispatch would leave it half done (a batch taken and never run), and the
# exception would end in PyGObject, which prints it, never in the program.
# So while the calls below run C code that ends a lifetime on the main
# thread, these signals' Python handlers are deferred, and run once each
# (as Python coalesces a signal) when the call is back in the program.
#
# The stand-in that records them is invisible: signal.getsignal() and
# signal.signal() (wrapped below) give and set the program's handlers
# meanwhile, which are put in place when the call returns; a handler a
# callback sets is deferred like the others. A fork child made meanwhile
# gets the program's handlers back at once (_after_fork_in_child()).
_DEFERRED_SIGNALS = tuple(getattr(_signal, name) for name in
                          ('SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGALRM',
                           'SIGUSR1', 'SIGUSR2') if hasattr(_signal, name))
_real_signal = _signal.signal
_real_getsignal = _signal.getsignal
# The thread that runs Python's signal handlers (a fork child's is the
# thread that forked).
_signal_ident = _main_thread.ident
# The deferral under way (main thread only), or None.
_deferral = None


class _Deferral(object):
    """One deferring call: the program's handlers (what signal.getsignal()
    gives meanwhile), the signals whose stand-in is installed, and the
    signals caught, in order."""

    __slots__ = ('handlers', 'installed', 'caught', 'active')

    def __init__(self):
        self.handlers = {}
        self.installed = set()
        self.caught = []
        self.active = True

    def defer(self, signum, frame):
        if signum not in self.caught:
            self.caught.append(signum)


def _getsignal(signalnum):
    deferral = _deferral
    if deferral is not None:
        try:
            return deferral.handlers[signalnum]
        except (KeyError, TypeError):
            pass
    return _real_getsignal(signalnum)


def _setsignal(signalnum, handler):
    deferral = _deferral
    if (deferral is None or _get_ident() != _signal_ident
            or signalnum not in deferral.handlers):
        return _real_signal(signalnum, handler)
    old = deferral.handlers[signalnum]
    if callable(handler):
        # Deferred like the program's: in place when the call returns.
        if signalnum not in deferral.installed:
            _real_signal(signalnum, deferral.defer)
            deferral.installed.add(signalnum)
        deferral.handlers[signalnum] = handler
    else:
        _real_signal(signalnum, handler)   # SIG_IGN, SIG_DFL: at once
        deferral.installed.discard(signalnum)
        deferral.handlers[signalnum] = _real_getsignal(signalnum)
    return old


_getsignal.__doc__ = _real_getsignal.__doc__
_setsignal.__doc__ = _real_signal.__doc__
_signal.getsignal = _getsignal
_signal.signal = _setsignal


def _signals_deferred(call, *args):
    """call(*args), with the Python signal handlers deferred if this is the
    main thread (the only one that runs them)."""
    global _deferral
    if _deferral is not None or _get_ident() != _signal_ident:
        return call(*args)
    deferral = _Deferral()
    for signum in _DEFERRED_SIGNALS:
        deferral.handlers[signum] = _real_getsignal(signum)
    _deferral = deferral
    try:
        for signum in _DEFERRED_SIGNALS:
            if callable(deferral.handlers[signum]):
                _real_signal(signum, deferral.defer)
                deferral.installed.add(signum)
        return call(*args)
    finally:
        if deferral.active:
            _end_deferral(deferral)
            _run_deferred(deferral)


def _end_deferral(deferral):
    """Puts the program's handlers in place. If a signal arrives while they
    are put back, its handler runs then; what it raises propagates, and the
    deferred ones are dropped (coalesced with it, as Python coalesces a
    signal that arrives again before its handler ran)."""
    global _deferral
    deferral.active = False
    _deferral = None
    error = None
    for signum in _DEFERRED_SIGNALS:
        if signum in deferral.installed:
            try:
                _real_signal(signum, deferral.handlers[signum])
            except BaseException as exc:
                # A signal arrived just now, and its handler, put back
                # already, raised: the program gets that.
                error = error or exc
    if error is not None:
        raise error


def _run_deferred(deferral):
    """Runs each deferred handler, with no frame, until one raises: that
    propagates to the program."""
    for signum in deferral.caught:
        handler = deferral.handlers.get(signum)
        if callable(handler):
            handler(signum, None)


def _signals_after_fork_in_child():
    """The forking thread runs the child's signal handlers; a deferral the
    fork was made in ends here, so that the child (which may never return
    to the deferring call: multiprocessing's) has the program's handlers."""
    global _signal_ident
    _signal_ident = _get_ident()
    deferral = _deferral
    if deferral is not None:
        try:
            _end_deferral(deferral)
        except BaseException:
            pass   # a signal raced the fork: the child starts anew


def end_lifetime():
    """ThreadRef.end_lifetime(): on the main thread, a signal that arrives
    meanwhile (Ctrl-C) is handled when it returns."""
    _signals_deferred(ThreadRef.end_lifetime)


def run_atexit():
    """ThreadRef.run_atexit(), signals as in end_lifetime()."""
    _signals_deferred(ThreadRef.run_atexit)


__all__ += ['end_lifetime', 'run_atexit']


# --- nested lifetimes -------------------------------------------------------


def _forget_current_lifetime():
    # The fast path's cache: the lifetime registrations go to changes.
    try:
        del _tls.lifetime
    except AttributeError:
        pass


def nested_lifetime_begin():
    """ThreadRef.nested_lifetime_begin(): what the thread registers from now
    on, ThreadRef.ref() included, belongs to the new nested lifetime."""
    _forget_current_lifetime()
    return ThreadRef.nested_lifetime_begin()


def nested_lifetime_end(lifetime):
    """ThreadRef.nested_lifetime_end(lifetime)."""
    _forget_current_lifetime()
    try:
        _signals_deferred(ThreadRef.nested_lifetime_end, lifetime)
    finally:
        _forget_current_lifetime()


__all__ += ['nested_lifetime_begin', 'nested_lifetime_end']


class nested_lifetime(object):
    """A nested lifetime of the calling thread, as a context manager.

    Inside the ``with`` block, what the thread registers (``ref``,
    ``finalize``, the GObject classes, C code's registrations) belongs to
    the nested lifetime and ends with the block, newest first, on this
    thread; what was registered before is untouched. The ``as`` target is a
    ``ThreadRef.Ref`` to the nested lifetime, alive while the block runs::

        with ThreadRef.nested_lifetime():
            run_job(job)      # what it registers ends here

    Blocks close innermost first, on the thread that opened them; closing
    one that has another open inside it, or on another thread, raises
    ``RuntimeError`` and ends nothing. See
    ``ThreadRef.nested_lifetime_begin()``.
    """

    __slots__ = ('_ref',)

    def __init__(self):
        self._ref = None

    def __enter__(self):
        if self._ref is not None:
            raise RuntimeError('this nested_lifetime is already open')
        self._ref = nested_lifetime_begin()
        return self._ref

    def __exit__(self, exc_type, exc_value, traceback):
        lifetime = self._ref
        if lifetime is None:
            raise RuntimeError('this nested_lifetime is not open')
        if lifetime.is_alive() and not ThreadRef.Ref.equal(lifetime, _new_object_ref()):
            # C would refuse with a critical and end nothing: the block's
            # cleanup would be lost, and its lifetime would take the
            # thread's registrations from then on. Kept open, so that it
            # can still be closed in the right place.
            raise RuntimeError(
                'ThreadRef.nested_lifetime: this block is not the innermost open '
                'nested lifetime of the calling thread (blocks interleaved, as '
                'across an await, or closed on another thread); nothing was ended: '
                'close the innermost first, on the thread that opened it')
        self._ref = None
        nested_lifetime_end(lifetime)
        return False


__all__.append('nested_lifetime')


# --- the GObject classes ----------------------------------------------------


class _ObjectRefEntry(object):
    """A batch's entry for a ThreadRef.Ref's callback: holds the object
    weakly; the callback lives on the object, so that a cycle through it is
    an ordinary Python cycle."""

    __slots__ = ('ref', '_seq')

    def __init__(self, obj):
        self.ref = weakref.ref(obj) if obj is not None else _no_object

    def _threadref_fire(self, own, at_exit):
        obj = self.ref()
        if obj is None or not own:
            return obj is not None
        callback = obj.__dict__.pop('_threadref_callback', None)
        if callback is not None:
            func, user_data = callback
            try:
                func(obj, *user_data)
            except BaseException:
                _report(func)

    def _threadref_done(self):
        if self.ref is _no_object:
            return False   # its object is being made (see _register())
        obj = self.ref()
        return obj is None or '_threadref_callback' not in obj.__dict__

    def _threadref_gone(self):
        obj = self.ref()   # its thread did not survive a fork: never called
        if obj is not None:
            obj.__dict__.pop('_threadref_callback', None)


class Ref(ThreadRef.Ref):
    """A weak reference to the thread that created it; see ThreadRef.Ref.new.
    ``ThreadRef.Ref(callback, *user_data)`` or ``ThreadRef.Ref.new(callback,
    *user_data)``: ``callback(ref, *user_data)`` runs on the ending thread."""

    def __new__(cls, callback=None, *user_data, **kwargs):
        if kwargs:
            raise TypeError('ThreadRef.Ref takes a callback and user data, not properties')
        return cls.new(callback, *user_data)

    def __init__(self, *args, **kwargs):
        pass   # made by __new__

    @classmethod
    def new(cls, callback=None, *user_data):
        if callback is not None and not callable(callback):
            raise TypeError('ThreadRef.Ref: callback must be callable or None')
        _current_lifetime()   # so that a Python thread's lifetime ends with its run()
        if callback is None:
            self = _new_object_ref()
            _end_if_finished()
            return self
        # The entry goes in before the ref is made: its batch is then the
        # thread's newest node again once the ref is dropped, and the next
        # Ref's entry joins it, rather than each leaving a batch behind.
        # The callback runs right after the ref's node, as in C.
        entry = _ObjectRefEntry(None)
        batch = _register(entry, 'a ThreadRef.Ref callback')
        self = _new_object_ref()
        if batch is not None:
            self._threadref_callback = (callback, user_data)
            entry.ref = weakref.ref(self)
            if batch.closed:
                # The lifetime ended in the registration (on the spot).
                entry._threadref_fire(True, _exit_state != 0)
        return self

    def watch(self, callback=None, *user_data):
        """A new ref to the thread self refers to, whose callback runs on
        that thread as it ends; None if it has ended."""
        if callback is not None and not callable(callback):
            raise TypeError('ThreadRef.Ref.watch: callback must be callable or None')
        if callback is None:
            # No user data either: PyGObject 3.42 loses 48 bytes for good
            # for a None callback given None user data, none without it.
            return ThreadRef.Ref.watch(self, None)
        # The entry goes in before the ref is made, as in new(): its batch
        # is then that thread's newest registration again once the ref is
        # dropped, and the next watch's entry joins it, rather than each
        # leaving a batch (a C registration and Python objects) behind until
        # that thread ends. Under the lock, so that the batch's dispatch on
        # that thread finds the entry complete.
        entry = _ObjectRefEntry(None)
        with _batch_lock:
            batch = _register_for(self, entry)
            other = ThreadRef.Ref.watch(self, None) if batch is not None else None
            if other is None:
                _refused_if_alive(self, 'a ThreadRef.Ref.watch() callback')
                return None
            other._threadref_callback = (callback, user_data)
            if not batch.closed:
                entry.ref = weakref.ref(other)
                return other
        # That thread's end took the batch before the ref was made, and the
        # ref joined the end: the entry goes in with it, as a registration
        # made while the thread ends.
        if not _register_for(other, _ObjectRefEntry(other)):
            return None
        return other

    def watch_finalize(self, func, *args, **kwargs):
        """A finalizer (ThreadRef.finalize) for the thread self refers to:
        func(*args, **kwargs) runs on that thread as it ends. None if it has
        ended."""
        fin = finalize.__new__(finalize)
        fin._atexit = True
        fin._lifetime = None
        fin._info = [(func, args, kwargs or None)]
        batch = _register_for(self, fin)
        if batch is None:
            fin._info = []
            _refused_if_alive(self, 'a ThreadRef.Ref.watch_finalize() finalizer')
            return None
        # Its thread, for peek(), detach() and repr(): known once that
        # thread registered from Python (a thread Python never saw
        # register, such as one made by C code, stays None).
        fin._lifetime = batch.lifetime
        return fin

    def wait(self, timeout_usec=-1):
        """As ThreadRef.Ref.wait, and Ctrl-C (KeyboardInterrupt) interrupts
        it."""
        if timeout_usec is None or timeout_usec < 0:
            deadline = None
        else:
            deadline = _monotonic_usec() + timeout_usec
        while True:
            slice_usec = _WAIT_SLICE_USEC
            start = _monotonic_usec()
            if deadline is not None:
                slice_usec = max(0, min(slice_usec, deadline - start))
            if ThreadRef.Ref.wait(self, slice_usec):
                return True
            now = _monotonic_usec()
            if deadline is not None and now >= deadline:
                return False
            if now - start < slice_usec:
                # C returns FALSE before its timeout only when it refused
                # the wait (a ref to the calling thread: one critical, as
                # in C), and it would refuse every slice again.
                return False
            # Back in Python between slices: a pending signal's handler
            # (KeyboardInterrupt) runs here.

    def wait_async(self, cancellable=None, callback=None, *user_data):
        """As ThreadRef.Ref.wait_async; without a callback, returns an
        awaitable for any asyncio loop (a plain asyncio.run() will do): True
        once the thread has ended and its callbacks have returned."""
        if callback is None:
            return _asyncio_wait(self, cancellable)
        return ThreadRef.Ref.wait_async(self, cancellable, callback, *user_data)

    @property
    def alive(self):
        return self.is_alive()

    def __eq__(self, other):
        if isinstance(other, ThreadRef.Ref):
            return ThreadRef.Ref.equal(self, other)
        return NotImplemented

    def __ne__(self, other):
        if isinstance(other, ThreadRef.Ref):
            return not ThreadRef.Ref.equal(self, other)
        return NotImplemented

    def __hash__(self):
        return ThreadRef.Ref.hash(self)


Ref = override(Ref)
__all__.append('Ref')


def _new_object_ref():
    """A ThreadRef.Ref with no C callback, to the calling thread:
    g_object_new() alone makes that. (ThreadRef.Ref.new(None, None) loses
    48 bytes in PyGObject 3.42 for the None callback.)"""
    return _GObject.new(Ref)

_WAIT_SLICE_USEC = 50000


def _monotonic_usec():
    from gi.repository import GLib
    return GLib.get_monotonic_time()


# Awaited waits: no PyGObject closure per wait (each would lose some 100
# bytes for good). The wait is an entry in the batches, like a watch: when
# the thread's lifetime ends, the entry hands it to one thread, which waits
# in C for the lifetime's older callbacks to return (most often at once)
# and gives the result to the asyncio loop that awaits it.
_waits = None   # the waits' thread's queue.SimpleQueue, once it runs
_wait_lock = threading.Lock()
# How long the waits' thread waits for one lifetime before it looks at the
# others, in microseconds.
_WAITS_SLICE_USEC = 20000
# How long the waits' thread stays with nothing to wait for before it ends,
# in seconds: it must not outlive the program's threads (in a fork child
# made by a worker, the process ends only when its last thread does).
_WAITS_IDLE_SEC = 0.2


class _AsyncWait(object):
    """An awaited wait_async(): a batch's entry of the thread awaited."""

    __slots__ = ('cref', 'aloop', 'future', '_seq')

    def __init__(self, cref, aloop, future):
        self.cref = cref
        self.aloop = aloop
        self.future = future

    def _threadref_fire(self, own, at_exit):
        if not own:
            # An exit pass: the thread still runs, its end is to come (if the
            # interpreter goes on).
            return not _exit_state
        _waits_put(self)

    def _threadref_done(self):
        return self.future.done()   # given up (cancelled) or settled

    def _threadref_gone(self):
        self.settle(True)   # its thread did not survive a fork: it has ended

    def settle(self, value):
        if not self.aloop.is_closed():
            try:
                self.aloop.call_soon_threadsafe(_settle, self.future, value)
            except RuntimeError:
                pass   # closed meanwhile


def _waits_put(wait):
    global _waits
    with _wait_lock:
        if _waits is None:
            import queue
            _waits = queue.SimpleQueue()
            threading.Thread(target=_waits_main, args=(_waits,), name='ThreadRef-waits',
                             daemon=True).start()
        _waits.put(wait)


def _waits_main(waits):
    """The waits' thread: waits, a slice each in turn, until each lifetime
    handed to it has ended and its callbacks have returned."""
    import collections
    import queue
    pending = collections.deque()
    while True:
        if not pending:
            try:
                pending.append(waits.get(timeout=_WAITS_IDLE_SEC))
            except queue.Empty:
                if _waits_idle_end(waits):
                    return
                continue
        try:
            while True:
                pending.append(waits.get_nowait())
        except queue.Empty:
            pass
        wait = pending[0]
        if wait.future.done():
            pending.popleft()
        elif ThreadRef.Ref.wait(wait.cref, _WAITS_SLICE_USEC):
            pending.popleft()
            wait.settle(True)
        else:
            pending.rotate(-1)


def _waits_idle_end(waits):
    """The waits' thread has had nothing to do for a while: it ends, and the
    next wait starts another (_waits_put() starts and puts under the lock).
    False if a wait came meanwhile."""
    global _waits
    with _wait_lock:
        if not waits.empty():
            return False
        if _waits is waits:
            _waits = None
        return True


def _after_fork_in_child():
    """Only the forking thread goes on in a child: the waits' thread is not
    there (a wait handed to its queue would never end), and a lock another
    thread held stays held."""
    global _waits, _wait_lock, _batch_lock
    _signals_after_fork_in_child()
    _waits = None
    _wait_lock = threading.Lock()
    _batch_lock = threading.RLock()
    _forget_gone_threads()


def _forget_gone_threads():
    """In a fork child: the lifetimes of the threads that did not survive
    the fork are dead, as C has them, and what they registered never runs:
    refs give None, finalizers are dead, waits for them return True."""
    me = _get_ident()
    gone = [lifetime for lifetime in _lifetimes.values() if lifetime.ident != me]
    for lifetime in gone:
        lifetime.ending = True
        lifetime.anchor = None
        lifetime.kept = None
        del _lifetimes[lifetime.id]
        _kept.pop(lifetime.id, None)
    for batch_id, batch in list(_batches.items()):
        if batch.lifetime.ident != me:
            del _batches[batch_id]
            batch.closed = True
            for entry in batch.entries:
                entry._threadref_gone()
            del batch.entries[:]
    _finished.clear()
    _dispatched_early.clear()
    for ident in list(_depth):
        if ident != me:
            del _depth[ident]


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_in_child)


async def _asyncio_wait(cref, cancellable):
    import asyncio
    aloop = asyncio.get_running_loop()
    future = aloop.create_future()
    wait = _AsyncWait(cref, aloop, future)
    cancelled_id = None
    if cancellable is not None:
        # As the C wait: a cancelled cancellable ends it with its error.
        # (GObject's connect: Gio.Cancellable.connect is another method.)
        cancelled_id = _GObject.Object.connect(cancellable, 'cancelled', _wait_cancelled, wait)
        if cancellable.is_cancelled():
            _wait_cancelled(cancellable, wait)
    try:
        if not _register_for(cref, wait):
            # Ended, all callbacks returned (or no more registrations there):
            # the waits' thread tells which.
            _waits_put(wait)
        return await future
    finally:
        if cancelled_id is not None:
            _GObject.Object.disconnect(cancellable, cancelled_id)


def _wait_cancelled(cancellable, wait):
    from gi.repository import GLib
    try:
        cancellable.set_error_if_cancelled()
    except GLib.Error as error:
        wait.settle(error)


def _settle(future, value):
    if future.done():
        return
    if isinstance(value, Exception):
        future.set_exception(value)
    else:
        future.set_result(value)


class Finalize(ThreadRef.Finalize):
    """A finalizer for the thread that created it; see ThreadRef.Finalize.new.
    ``ThreadRef.Finalize(func, *user_data)`` or ``ThreadRef.Finalize.new(func,
    *user_data)``: ``func(*user_data)`` runs once."""

    def __new__(cls, func=None, *user_data, **kwargs):
        if kwargs:
            raise TypeError('ThreadRef.Finalize takes a function and user data, not properties')
        return cls.new(func, *user_data)

    def __init__(self, *args, **kwargs):
        pass   # made by __new__

    @classmethod
    def new(cls, func=None, *user_data):
        if func is None or not callable(func):
            raise TypeError('ThreadRef.Finalize needs a function to run, got %r' % (func,))
        if _exit_state != 2:
            _current_lifetime()   # so that a Python thread's lifetime ends with its run()
        # The dispatcher's own kind of finalizer: no PyGObject closure (each
        # would lose some 100 bytes for good) and no destroy notify of
        # Python's, so that C, which may run, detach or free it at any
        # time (its exit pass, after Python is gone), calls nothing of
        # Python's once the dispatcher is closed.
        seq = next(_seqs)   # its age among Python's registrations, for exit
        self, fin_id = _dispatcher.new_finalize()
        if fin_id == 0:
            # After our atexit handler (the dispatcher is closed): dead.
            _refused('a ThreadRef.Finalize')
            return self
        if _keep_finalizer_call(self, fin_id, func, user_data, seq):
            # It ran inside our C call (its lifetime ended on the spot).
            _run_finalizer_call((func, user_data, None, seq))
        _end_if_finished()
        return self

    def call(self):
        """As ThreadRef.Finalize.call; signals as in end_lifetime()."""
        return _signals_deferred(ThreadRef.Finalize.call, self)

    def detach(self):
        """As ThreadRef.Finalize.detach; its function is forgotten."""
        if not ThreadRef.Finalize.detach(self):
            return False
        with _batch_lock:
            _take_finalizer_call(_finalizer_ids.get(hash(self)))
        return True

    @property
    def alive(self):
        return self.is_alive()

    @property
    def atexit(self):
        return self.get_atexit()

    @atexit.setter
    def atexit(self, value):
        self.set_atexit(bool(value))


Finalize = override(Finalize)
__all__.append('Finalize')

# Python-made ThreadRef.Finalize objects (Dispatcher.new_finalize()):
# finalizer id -> (func, user_data, the GObject's address, its _seq) until it runs or
# is detached, and that address -> id, for detach(). Whoever detaches one
# (C code too), the dispatcher tells _dispatch() at once (_DETACHED).
_finalizer_calls = {}
_finalizer_ids = {}


def _keep_finalizer_call(fin, fin_id, func, user_data, seq):
    """Keeps what fin runs; True if it was dispatched already (the id
    unknown then: see _dispatch())."""
    key = hash(fin)   # PyGObject: the GObject's address
    with _batch_lock:
        if fin_id in _dispatched_early:
            _dispatched_early.discard(fin_id)
            return True
        _take_finalizer_call(_finalizer_ids.get(key))
        _finalizer_calls[fin_id] = (func, user_data, key, seq)
        _finalizer_ids[key] = fin_id
    return False


def _take_finalizer_call(fin_id):
    """Forgets the call of the finalizer fin_id, and returns it (None if
    unknown). Under _batch_lock."""
    call = _finalizer_calls.pop(fin_id, None)
    if call is not None and _finalizer_ids.get(call[2]) == fin_id:
        del _finalizer_ids[call[2]]
    return call


def _run_finalizer_call(call):
    """A ThreadRef.Finalize runs: what it raises is reported (rather than
    printed by PyGObject, or exiting the process for SystemExit from
    whatever thread runs it)."""
    func, user_data, _, seq = call
    if _exit_others and _get_ident() == _exit_ident:
        # At interpreter exit: the other threads' newer finalizers first,
        # as for the exiting thread's ThreadRef.finalize entries.
        _run_newer_at_exit(seq)
    try:
        func(*user_data)
    except BaseException:
        _report(func)


def _run_at_python_exit():
    """Python's atexit: what C would run after Python is gone runs now."""
    global _exit_state, _exit_ident
    _exit_state = 1
    _exit_ident = _get_ident()
    _exit_others[:] = _collect_exit_others()
    try:
        _signals_deferred(ThreadRef.run_atexit)
    finally:
        del _exit_others[:]
        _dispatcher.close()
        _exit_state = 2


_atexit.register(_run_at_python_exit)
