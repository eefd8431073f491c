# ThreadRef.py: PyGObject override for the ThreadRef namespace
#
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Makes threadref follow Python's own idea of when a thread ends.

Without this override threadref still works from Python, but at two moments
Python and the C library disagree:

* A Python thread's refs and finalizers would run in the thread's
  pthread-key destructors, which run *after* ``Thread.join()`` has returned
  (Python releases the join lock while it deletes the thread state). Here
  the thread's lifetime ends earlier, while Python clears the thread's
  state: a ``threading.local`` holds an object whose ``__del__`` calls
  ``ThreadRef.end_lifetime()``. That runs on the ending thread, with the GIL
  held, before ``join()`` returns, so after ``join()`` every callback of
  that thread has run.

* At interpreter exit, CPython finalizes itself before C ``atexit()``
  handlers run, and PyGObject can neither call nor release a Python callback
  after that. Here Python's own ``atexit`` runs ``ThreadRef.run_atexit()``:
  the main thread's refs and finalizers, and every ``atexit`` finalizer of
  the threads still running, run while Python can still run them.
"""

import atexit
import threading

from ..module import get_introspection_module
from ..overrides import override

ThreadRef = get_introspection_module('ThreadRef')

__all__ = []

# OS thread idents whose Python thread state carries a _LifetimeEnd.
_watched = set()
_local = threading.local()


class _LifetimeEnd(object):
    """Ends the thread's threadref lifetime when Python drops it."""

    __slots__ = ('ident',)

    def __init__(self, ident):
        self.ident = ident

    def __del__(self):
        try:
            ThreadRef.end_lifetime()
        finally:
            # Only now: refs made by the callbacks above join the ending
            # lifetime and must not install another _LifetimeEnd.
            _watched.discard(self.ident)


def _watch_current_thread():
    """Arranges for the calling Python thread's lifetime to end with it."""
    thread = threading.current_thread()
    # The main thread ends at interpreter exit (see below). Threads Python did
    # not start (_DummyThread) get a thread state only while they run Python
    # code: it is dropped after every callback, not when the thread ends, so
    # they keep ending through threadref's pthread-key destructor.
    if thread is threading.main_thread() or isinstance(thread, threading._DummyThread):
        return
    ident = threading.get_ident()
    if ident in _watched:
        return
    _watched.add(ident)
    _local.lifetime_end = _LifetimeEnd(ident)


class Ref(ThreadRef.Ref):
    """A weak reference to the thread that created it. See ThreadRef.Ref.new."""

    def __init__(self, **kwargs):
        _watch_current_thread()
        super(Ref, self).__init__(**kwargs)

    @classmethod
    def new(cls, callback=None, user_data=None):
        _watch_current_thread()
        return super(Ref, cls).new(callback, user_data)


Ref = override(Ref)
__all__.append('Ref')


class Finalize(ThreadRef.Finalize):
    """A finalizer for the thread that created it. See ThreadRef.Finalize.new."""

    def __init__(self, **kwargs):
        _watch_current_thread()
        super(Finalize, self).__init__(**kwargs)

    @classmethod
    def new(cls, func, user_data=None):
        _watch_current_thread()
        return super(Finalize, cls).new(func, user_data)


Finalize = override(Finalize)
__all__.append('Finalize')


def _run_at_python_exit():
    ThreadRef.run_atexit()


atexit.register(_run_at_python_exit)
