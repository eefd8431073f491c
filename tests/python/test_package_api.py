# test_package_api.py: the threadref package's API on ThreadRef (issue 10),
# and the kinds of fault that the handed inputs stand for
#
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run like test_threadref.py (an interpreter with PyGObject, inside
`meson devenv`, or through `meson test`)."""

import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import unittest
import weakref

import gi

gi.require_version('ThreadRef', '1.0')
from gi.repository import GObject, ThreadRef  # noqa: E402


# Under a sanitizer (preloaded for the bindings' tests): ASan keeps freed
# memory in quarantine and TSan shadows it, so RSS says nothing there, and
# TSan dies when a fork child of a multi-threaded process starts a thread.
UNDER_TSAN = 'libtsan' in os.environ.get('LD_PRELOAD', '')
SANITIZED = UNDER_TSAN or 'libasan' in os.environ.get('LD_PRELOAD', '')


def rss():
    """This process's resident memory, in bytes."""
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024


def run_thread(target, *args, name=None):
    thread = threading.Thread(target=target, args=args, name=name)
    thread.start()
    thread.join()
    return thread


def run_script(body, timeout=60):
    """Runs body in a fresh interpreter: (status, stdout, stderr)."""
    script = textwrap.dedent('''
        import sys, threading, gi
        gi.require_version('ThreadRef', '1.0')
        from gi.repository import ThreadRef
    ''') + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, '-c', script], capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


class Unraisable(object):
    """Collects what reaches sys.unraisablehook."""

    def __enter__(self):
        self.seen = []
        self.old = sys.unraisablehook
        sys.unraisablehook = self.seen.append
        return self

    def __exit__(self, *exc):
        sys.unraisablehook = self.old


class RefTest(unittest.TestCase):
    """ThreadRef.ref behaves as threadref.ref (a weakref.ref to the thread)."""

    def test_is_a_weakref(self):
        r = ThreadRef.ref()
        self.assertIsInstance(r, weakref.ref)
        self.assertIs(r(), threading.current_thread())
        self.assertIsNone(r.__callback__)

    def test_call_gives_thread_then_none(self):
        box = []

        def work():
            box.append(ThreadRef.ref())
            box.append(box[0]())

        thread = run_thread(work)
        self.assertIs(box[1], thread)
        self.assertIsNone(box[0]())

    def test_callback_once_on_ending_thread_with_the_ref(self):
        seen = []
        keep = []

        def callback(r):
            seen.append((r, r(), threading.current_thread().name))

        def work():
            keep.append(ThreadRef.ref(callback))

        run_thread(work, name='ending')
        self.assertEqual(seen, [(keep[0], None, 'ending')])

    def test_dropped_ref_never_calls_back(self):
        seen = []

        def work():
            r = ThreadRef.ref(seen.append)
            del r
            gc.collect()

        run_thread(work)
        self.assertEqual(seen, [])

    def test_weak_cycle_through_callback_is_collected(self):
        """An object holding a ref whose callback is its own method is
        collected like any cycle; the GObject class too."""
        collected = []

        class Holder(object):
            def __init__(self, kind):
                if kind == 'ref':
                    self.r = ThreadRef.ref(self.gone)
                else:
                    self.r = ThreadRef.Ref.new(self.gone)

            def gone(self, *args):
                pass

        for kind in ('ref', 'Ref'):
            holder = Holder(kind)
            weakref.finalize(holder, collected.append, kind)
            del holder
            gc.collect()
        self.assertEqual(collected, ['ref', 'Ref'])

    def test_equality_and_hash_follow_the_thread(self):
        a, b = ThreadRef.ref(), ThreadRef.ref(print)
        self.assertEqual(a, b)
        self.assertEqual(hash(a), hash(b))
        box = []
        run_thread(lambda: box.append(ThreadRef.ref()))
        self.assertNotEqual(a, box[0])
        other = []
        run_thread(lambda: other.append(ThreadRef.ref()))
        # Both dead: equal only to themselves.
        self.assertNotEqual(box[0], other[0])
        self.assertEqual(box[0], box[0])

    def test_repr(self):
        box = []
        r = ThreadRef.ref()
        self.assertIn(repr(threading.current_thread()), repr(r))
        run_thread(lambda: box.append(ThreadRef.ref()))
        self.assertTrue(repr(box[0]).endswith(' dead>'), repr(box[0]))

    def test_dead_inside_its_own_callbacks(self):
        seen = []
        keep = []

        def work():
            keep.append(ThreadRef.ref())
            ThreadRef.finalize(lambda: seen.append(keep[0]()))

        run_thread(work)
        self.assertEqual(seen, [None])


class FinalizeTest(unittest.TestCase):
    """ThreadRef.finalize behaves as threadref.finalize, that is as
    weakref.finalize pointed at the thread (cases of CPython's
    FinalizeTestCase that apply to threads, written anew)."""

    def test_is_a_weakref_finalize(self):
        f = ThreadRef.finalize(print)
        self.assertIsInstance(f, weakref.finalize)
        f.detach()

    def test_args_and_kwargs(self):
        seen = []

        def func(*args, **kwargs):
            seen.append((args, kwargs))

        run_thread(lambda: ThreadRef.finalize(func, 1, 2, key='v'))
        self.assertEqual(seen, [((1, 2), {'key': 'v'})])

    def test_func_is_positional_only(self):
        seen = []
        f = ThreadRef.finalize(lambda **kw: seen.append(kw), func='x', self='y')
        f()
        self.assertEqual(seen, [{'func': 'x', 'self': 'y'}])

    def test_call_returns_result_once(self):
        f = ThreadRef.finalize(lambda a, b: a + b, 2, b=3)
        self.assertTrue(f.alive)
        self.assertEqual(f(), 5)
        self.assertFalse(f.alive)
        self.assertIsNone(f())

    def test_detach_and_peek(self):
        def func():
            pass

        f = ThreadRef.finalize(func, 1, k=2)
        me = threading.current_thread()
        self.assertEqual(f.peek(), (me, func, (1,), {'k': 2}))
        self.assertEqual(f.detach(), (me, func, (1,), {'k': 2}))
        self.assertIsNone(f.detach())
        self.assertIsNone(f.peek())
        self.assertFalse(f.alive)
        self.assertIsNone(f())

    def test_keeps_itself_alive_and_runs_on_ending_thread(self):
        seen = []

        def work():
            ThreadRef.finalize(lambda: seen.append(threading.current_thread().name))
            gc.collect()

        run_thread(work, name='t1')
        self.assertEqual(seen, ['t1'])

    def test_newest_first_with_refs_and_c_registrations(self):
        seen = []
        keep = []

        def work():
            ThreadRef.finalize(seen.append, 'py-f0')
            ThreadRef.Finalize.new(seen.append, 'gobject-f1')
            keep.append(ThreadRef.ref(lambda r: seen.append('py-r2')))
            ThreadRef.finalize(seen.append, 'py-f3')
            keep.append(ThreadRef.Ref.new(lambda r: seen.append('gobject-r4')))
            ThreadRef.finalize(seen.append, 'py-f5')

        run_thread(work)
        self.assertEqual(seen, ['py-f5', 'gobject-r4', 'py-f3', 'py-r2', 'gobject-f1', 'py-f0'])

    def test_released_after_firing(self):
        """func and its arguments are let go of once it ran."""
        class Arg(object):
            pass

        box = []

        def work():
            arg = Arg()
            box.append(weakref.ref(arg))
            box.append(ThreadRef.finalize(lambda a: None, arg))

        run_thread(work)
        gc.collect()
        self.assertIsNone(box[0]())
        self.assertFalse(box[1].alive)

    def test_registered_while_ending_still_runs(self):
        seen = []

        def later():
            seen.append('nested')

        def first():
            seen.append('first')
            ThreadRef.finalize(later)

        run_thread(lambda: ThreadRef.finalize(first))
        self.assertEqual(seen, ['first', 'nested'])

    def test_error_reported_and_others_run(self):
        seen = []

        def boom():
            raise ValueError('boom')

        def work():
            ThreadRef.finalize(seen.append, 'older')
            ThreadRef.finalize(boom)
            ThreadRef.finalize(seen.append, 'newer')

        with Unraisable() as hook:
            run_thread(work)
        self.assertEqual(seen, ['newer', 'older'])
        self.assertEqual(len(hook.seen), 1)
        self.assertIsInstance(hook.seen[0].exc_value, ValueError)

    def test_systemexit_and_keyboardinterrupt_in_callbacks_are_reported(self):
        """No exception a callback raises ends or hangs the process from a
        worker: every kind of callback, every kind of exception."""
        seen = []

        def raise_(exc):
            raise exc

        def work():
            ThreadRef.finalize(seen.append, 'older')
            for exc in (SystemExit(3), KeyboardInterrupt()):
                ThreadRef.finalize(raise_, exc)
                ThreadRef.Finalize.new(raise_, exc)
                keep.append(ThreadRef.ref(lambda r, exc=exc: raise_(exc)))
                keep.append(ThreadRef.Ref.new(lambda r, exc=exc: raise_(exc)))

        keep = []
        with Unraisable() as hook:
            run_thread(work)
        self.assertEqual(seen, ['older'])
        self.assertEqual(sorted(type(h.exc_value).__name__ for h in hook.seen),
                         ['KeyboardInterrupt'] * 4 + ['SystemExit'] * 4)

    def test_raising_unraisablehook_stops_nothing(self):
        """A hook that raises (KeyboardInterrupt here) is reported as
        Python reports it, and the older callbacks still run (they were
        dropped, the rest of the batch with them)."""
        status, out, err = run_script('''
            log = []
            def hook(args):
                log.append('hook saw %s' % args.exc_type.__name__)
                raise KeyboardInterrupt('from hook')
            sys.unraisablehook = hook
            def boom():
                raise ValueError('v')
            def work():
                ThreadRef.finalize(log.append, 'older')
                ThreadRef.finalize(boom)
            t = threading.Thread(target=work); t.start(); t.join()
            print(log, flush=True)
        ''')
        self.assertEqual((status, out), (0, "['hook saw ValueError', 'older']\n"), err)
        self.assertIn('Exception ignored in sys.unraisablehook', err)
        self.assertIn('KeyboardInterrupt: from hook', err)

    def test_atexit_is_settable(self):
        f = ThreadRef.finalize(print)
        self.assertTrue(f.atexit)
        f.atexit = False
        self.assertFalse(f.atexit)
        f.detach()

    def test_repr(self):
        f = ThreadRef.finalize(print)
        self.assertIn(repr(threading.current_thread()), repr(f))
        f.detach()
        self.assertTrue(repr(f).endswith(' dead>'))


class TeardownTest(unittest.TestCase):
    """Callbacks of a Python thread run while the thread is still itself,
    and leave nothing behind (kind of a_teardown_context.py)."""

    def test_callbacks_see_the_thread_as_it_was(self):
        tls = threading.local()
        seen = []
        live = []

        class Buf(object):
            def __init__(self):
                live.append(1)

            def __del__(self):
                live.pop()

        def cleanup(*args):
            seen.append((threading.current_thread().name, getattr(tls, 'conn', None)))
            tls.scratch = Buf()

        def work():
            tls.conn = 'conn-1'
            ThreadRef.finalize(cleanup)
            ThreadRef.Finalize.new(cleanup)
            work_refs.append(ThreadRef.ref(cleanup))
            work_refs.append(ThreadRef.Ref.new(cleanup))

        work_refs = []
        before = threading.active_count()
        for i in range(50):
            run_thread(work, name='worker-%d' % i)
        gc.collect()
        self.assertEqual(len(seen), 200)
        for i in range(50):
            self.assertEqual(seen[4 * i:4 * i + 4], [('worker-%d' % i, 'conn-1')] * 4)
        self.assertEqual(live, [])
        self.assertEqual(threading.active_count(), before)

    def test_registration_during_python_teardown_runs_before_join(self):
        """A threading.local value's __del__ registers while Python releases
        the thread's state: join() still means done."""
        for _ in range(100):
            seen = []

            class Late(object):
                def __del__(self):
                    ThreadRef.finalize(seen.append, 'late')
                    ThreadRef.Finalize.new(seen.append, 'late-gobject')

            tls = threading.local()

            def work():
                ThreadRef.finalize(seen.append, 'normal')
                tls.late = Late()

            run_thread(work)
            self.assertEqual(sorted(seen), ['late', 'late-gobject', 'normal'])

    def test_join_waits_for_c_only_registrations(self):
        """A Python thread on which only C code registered (a library that
        uses threadref, here the introspected constructor past the
        override): join() returns after it ran (it ran only when the OS
        thread exited, after join())."""
        from gi.module import get_introspection_module
        c_api = get_introspection_module('ThreadRef')
        for i in range(5):
            ran = []

            def cleanup(*args):
                time.sleep(0.05)
                ran.append(threading.current_thread().name)

            run_thread(lambda: c_api.Finalize.new(cleanup), name='c-only')
            self.assertEqual(ran, ['c-only'])

    def test_other_threads_teardown_ends_only_its_own_lifetime(self):
        """Clearing a thread-local of a thread that has gone, on another
        thread, does not end that other thread's lifetime."""
        mine = ThreadRef.ref()
        run_thread(lambda: ThreadRef.finalize(print, end=''))
        gc.collect()
        self.assertIs(mine(), threading.current_thread())

    def test_new_thread_with_a_finished_threads_ident_is_not_ended(self):
        """glibc reuses the stack (and so the ident) of a thread that has
        gone: a thread made by C code or _thread that gets the ident of a
        Python thread that used ThreadRef keeps its lifetime until it ends
        (it used to end on the spot: finalizers run and refs dead at once)."""
        import _thread
        for attempt in range(200):
            used = run_thread(lambda: ThreadRef.finalize(print, end='')).ident
            done = threading.Event()
            seen = []

            def raw():
                fin = ThreadRef.finalize(seen.append, 'ended')
                r = ThreadRef.ref()
                seen.append((_thread.get_ident() == used, fin.alive, r() is not None))
                done.set()

            _thread.start_new_thread(raw, ())
            self.assertTrue(done.wait(10))
            if seen[0][0]:
                break
        else:
            self.skipTest('no thread got the ident of an ended one')
        self.assertEqual(seen[0], (True, True, True))
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(seen[1:], ['ended'])


class ForkTest(unittest.TestCase):
    def test_child_sees_other_threads_gone(self):
        """In a fork child only the forking thread exists: the refs and
        finalizers of the others are dead there and never run, as the
        GObject classes' are (they reported alive)."""
        status, out, err = run_script('''
            import os
            go = threading.Event(); done = threading.Event()
            objs = []
            def other():
                objs.append(ThreadRef.ref())
                objs.append(ThreadRef.finalize(print, 'other finalize ran'))
                objs.append(ThreadRef.Ref.new())
                go.set(); done.wait()
            t = threading.Thread(target=other); t.start(); go.wait()
            mine = ThreadRef.ref()
            fin = ThreadRef.finalize(print, 'child main finalize ran')
            pid = os.fork()
            if pid == 0:
                try:
                    print(objs[0]() is None, objs[1].alive, objs[1].peek(), objs[1](),
                          objs[2].alive, mine() is threading.current_thread(), fin.alive,
                          flush=True)
                    fin()
                finally:
                    os._exit(0)
            os.waitpid(pid, 0)
            fin.detach()
            done.set(); t.join()
        ''')
        self.assertEqual(status, 0, err)
        self.assertEqual(out.split('\n')[:2],
                         ['True False None None False True True', 'child main finalize ran'])


class MemoryTest(unittest.TestCase):
    """On a thread that lives on, what has nothing left to run is freed, as
    weakref.finalize and weakref.ref free theirs (each used to stay in the
    thread's batch until its end; Ref.new() with no callback lost a
    PyGObject object for good)."""

    def blocks_per_op(self, op, n=4000):
        for i in range(500):
            op()
        gc.collect()
        before = sys.getallocatedblocks()
        for i in range(n):
            op()
        gc.collect()
        return (sys.getallocatedblocks() - before) / n

    def test_nothing_kept_per_operation(self):
        def noop(*args):
            pass

        cases = {
            'finalize detached': lambda: ThreadRef.finalize(noop).detach(),
            'finalize called': lambda: ThreadRef.finalize(noop)(),
            'ref with callback dropped': lambda: ThreadRef.ref(noop),
            'Ref with callback dropped': lambda: ThreadRef.Ref.new(noop),
            'Ref dropped': lambda: ThreadRef.Ref.new(),
            'Ref() dropped': lambda: ThreadRef.Ref(),
        }
        growth = {name: self.blocks_per_op(op) for name, op in cases.items()}
        # Each used to keep 1 to 7 blocks per operation.
        self.assertEqual({name: g for name, g in growth.items() if g > 0.25}, {})

    def test_gobject_finalize_keeps_nothing(self):
        """Kind of 10b/06: a ThreadRef.Finalize made and called or detached
        keeps nothing (each lost PyGObject's callback closure, some 80-110
        bytes of C memory, for good)."""
        if SANITIZED:
            self.skipTest('RSS says nothing under a sanitizer (see test_await_keeps_nothing)')
        for op in (lambda: ThreadRef.Finalize(int).detach(), lambda: ThreadRef.Finalize(int).call()):
            for i in range(2000):
                op()
            gc.collect()
            before = rss()
            for i in range(30000):
                op()
            gc.collect()
            self.assertLess((rss() - before) / 30000, 20, 'bytes per Finalize')

    def test_dropped_watches_keep_nothing(self):
        """Kind of 10b/04: watches of a thread that lives on, dropped at once,
        leave nothing behind on it (each left a batch, a C registration
        with Python objects, until that thread's end); a kept one still
        calls back."""
        box, seen = [], []
        go = threading.Event()

        def worker():
            box.append(ThreadRef.Ref.new())
            go.wait()

        thread = threading.Thread(target=worker)
        thread.start()
        try:
            while not box:
                time.sleep(0.001)
            watched = box[0]
            before = watched.count_registrations()
            gc.collect()
            objects = len(gc.get_objects())
            for i in range(3000):
                watched.watch(lambda r: seen.append('dropped'))
            kept = watched.watch(lambda r, *data: seen.append(data), 'kept')
            gc.collect()
            self.assertLessEqual(watched.count_registrations(), before + 3)
            self.assertLess(len(gc.get_objects()) - objects, 300)
        finally:
            go.set()
            thread.join()
        self.assertEqual(seen, [('kept',)])
        self.assertFalse(kept.alive)

    def test_no_callback_lost_when_a_batch_is_compacted(self):
        """A batch compacted as a ref's entry joins it, before the ref is
        made, took that entry for a dropped ref's: every so many kept
        ThreadRef.ref callbacks never ran (5 in 1000)."""
        for make in (ThreadRef.ref, ThreadRef.Ref.new):
            seen, keep = [], []

            def work():
                for i in range(1000):
                    keep.append(make(lambda r, i=i: seen.append(i)))

            run_thread(work)
            self.assertEqual(len(seen), 1000, make)

    def test_live_registrations_stay(self):
        """Freeing the dead ones keeps the live ones, in order."""
        seen = []

        def work():
            for i in range(300):
                ThreadRef.finalize(seen.append, i)
                ThreadRef.finalize(seen.append, -1).detach()
                keep.append(ThreadRef.ref(lambda r, i=i: seen.append(('r', i))))
                ThreadRef.ref(lambda r: seen.append('dropped'))
                keep.append(ThreadRef.Ref.new(lambda r, i=i: seen.append(('R', i))))
                ThreadRef.Ref.new(lambda r: seen.append('dropped'))

        keep = []
        run_thread(work)
        expected = []
        for i in reversed(range(300)):
            expected += [('R', i), ('r', i), i]
        self.assertEqual(seen, expected)


class GObjectClassTest(unittest.TestCase):
    """ThreadRef.Ref and ThreadRef.Finalize the PyGObject way."""

    def test_new_with_any_number_of_user_data(self):
        seen = []

        def work():
            ThreadRef.Finalize.new(lambda *a: seen.append(('f', a)))
            ThreadRef.Finalize.new(lambda *a: seen.append(('f', a)), 1)
            ThreadRef.Finalize.new(lambda *a: seen.append(('f', a)), 1, 2)
            ThreadRef.Finalize(lambda *a: seen.append(('F', a)), 3, 4)
            keep.append(ThreadRef.Ref.new(lambda r, *a: seen.append(('r', a))))
            keep.append(ThreadRef.Ref.new(lambda r, *a: seen.append(('r', a)), 5, 6))
            keep.append(ThreadRef.Ref(lambda r, *a: seen.append(('R', a)), 7))

        keep = []
        run_thread(work)
        self.assertEqual(seen, [('R', (7,)), ('r', (5, 6)), ('r', ()), ('F', (3, 4)),
                                ('f', (1, 2)), ('f', (1,)), ('f', ())])

    def test_construction_without_function_is_an_error(self):
        with self.assertRaises(TypeError):
            ThreadRef.Finalize()
        with self.assertRaises(TypeError):
            ThreadRef.Finalize.new(None)
        with self.assertRaises(TypeError):
            ThreadRef.Finalize(atexit=False)
        # GObject.new() goes straight to g_object_new(): the library refuses
        # with a critical, and what it makes is dead.
        script = '''
            from gi.repository import GObject
            f = GObject.new(ThreadRef.Finalize)
            print(type(f).__name__, f.alive, f.detach(), f.call())
        '''
        status, out, err = run_script(script)
        self.assertEqual((status, out), (0, 'Finalize False False False\n'), err)
        self.assertIn('needs a function', err)

    def test_dispatcher_without_function_is_refused(self):
        # Before: accepted, and its first batch called NULL as the lifetime
        # ended (SIGSEGV at exit).
        script = '''
            from gi.repository import GObject
            try:
                d = GObject.new(ThreadRef.Dispatcher)
                print('made', d.batch())
            except Exception as e:
                print(type(e).__name__)
        '''
        status, out, err = run_script(script)
        self.assertEqual((status, out), (0, 'made (0, lifetime=0)\n'), err)
        self.assertIn('Dispatcher needs a function', err)

    def test_atexit_and_alive_attributes_are_the_properties(self):
        f = ThreadRef.Finalize.new(print)
        self.assertTrue(f.alive and f.atexit)
        f.atexit = False
        self.assertFalse(f.props.atexit)
        self.assertFalse(f.get_atexit())
        self.assertTrue(f.detach())
        self.assertFalse(f.alive)

    def test_equal_and_hash_agree(self):
        a = ThreadRef.Ref.new(None)
        b = ThreadRef.Ref()
        self.assertEqual(a, b)
        self.assertEqual(hash(a), hash(b))
        self.assertEqual(hash(a), a.hash())
        box = []
        run_thread(lambda: box.append(ThreadRef.Ref()))
        self.assertNotEqual(a, box[0])
        self.assertEqual(a == box[0], a.equal(box[0]))
        self.assertEqual(len({a, b, box[0]}), 2)


class WaitTest(unittest.TestCase):
    def test_wait_is_interruptible(self):
        """Ctrl-C (SIGINT) interrupts ref.wait() on the main thread."""
        script = '''
            import os, signal, time
            started = threading.Event()
            def work():
                box.append(ThreadRef.Ref.new())
                started.set()
                time.sleep(30)
            box = []
            threading.Thread(target=work, daemon=True).start()
            started.wait()
            threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
            t0 = time.monotonic()
            try:
                box[0].wait(-1)
                print('returned')
            except KeyboardInterrupt:
                print('interrupted', time.monotonic() - t0 < 5)
        '''
        status, out, err = run_script(script, timeout=30)
        self.assertEqual(out, 'interrupted True\n', err)

    def test_wait_timeout(self):
        box = []
        go = threading.Event()

        def work():
            box.append(ThreadRef.Ref.new())
            go.wait()

        thread = threading.Thread(target=work)
        thread.start()
        while not box:
            time.sleep(0.01)
        self.assertFalse(box[0].wait(20000))
        go.set()
        self.assertTrue(box[0].wait())
        thread.join()

    def test_wait_on_own_thread_is_one_critical_and_false(self):
        """As in C: the refused wait is one critical and False, not a busy
        loop of refused slices (each a critical) until the timeout, or
        forever."""
        script = '''
            import time
            r = ThreadRef.Ref.new()
            t0 = time.monotonic()
            print(r.wait(), r.wait(5000000), time.monotonic() - t0 < 2)
        '''
        status, out, err = run_script(script, timeout=20)
        self.assertEqual((status, out), (0, 'False False True\n'), err[-2000:])
        self.assertEqual(err.count('would wait for forever'), 2, err[-2000:])

    @unittest.skipIf(UNDER_TSAN,
                     'ThreadSanitizer cannot start threads in the fork child of a '
                     'multi-threaded process (it dies there)')
    def test_await_in_a_fork_child(self):
        """The waits' thread is not in a fork child: a wait_async() there
        must not be queued on its context (it hung, even for a thread that
        ended long ago, once the parent had awaited one)."""
        script = '''
            import asyncio, os
            def ended_ref():
                box = []
                t = threading.Thread(target=lambda: box.append(ThreadRef.Ref.new()))
                t.start(); t.join()
                return box[0]
            print('parent', asyncio.run(ended_ref().wait_async()), flush=True)
            pid = os.fork()
            if pid == 0:
                try:
                    ok = asyncio.run(asyncio.wait_for(ended_ref().wait_async(), 10))
                    print('child', ok, flush=True)
                finally:
                    os._exit(0)
            os.waitpid(pid, 0)
        '''
        status, out, err = run_script(script, timeout=60)
        self.assertEqual((status, out), (0, 'parent True\nchild True\n'), err)

    @unittest.skipIf(UNDER_TSAN,
                     'ThreadSanitizer dies when a fork child of a multi-threaded process starts a thread')
    def test_fork_child_of_a_worker_exits_after_an_await(self):
        """Kind of 10b/03: a child forked by a worker ends when its only
        thread does; the waits' thread, started by an await there, kept it
        alive for ever. It ends once it has nothing to wait for."""
        script = '''
            import asyncio, os, time
            def forker():
                pid = os.fork()
                if pid == 0:
                    box = []
                    t = threading.Thread(target=lambda: box.append(ThreadRef.Ref.new()))
                    t.start(); t.join()
                    print('child', asyncio.run(box[0].wait_async()), flush=True)
                    return   # the child's only thread ends here
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        print('child exited', status, flush=True)
                        return
                    time.sleep(0.02)
                print('child hangs', flush=True)
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            t = threading.Thread(target=forker); t.start(); t.join()
        '''
        status, out, err = run_script(script, timeout=60)
        self.assertEqual((status, out), (0, 'child True\nchild exited 0\n'), err)

    def test_await_keeps_nothing(self):
        """An await of wait_async() leaves nothing behind (it lost two
        PyGObject closures, some 210 bytes, for good)."""
        import asyncio
        from gi.repository import Gio
        box = []
        run_thread(lambda: box.append(ThreadRef.Ref.new()))

        async def awaits(n, cancellable):
            for i in range(n):
                self.assertIs(await box[0].wait_async(Gio.Cancellable() if cancellable else None), True)

        # Under a sanitizer RSS says nothing: the awaits still run.
        for cancellable in (False, True):
            asyncio.run(awaits(2000, cancellable))
            gc.collect()
            before = rss()
            asyncio.run(awaits(20000, cancellable))
            gc.collect()
            if not SANITIZED:
                self.assertLess((rss() - before) / 20000, 50, 'bytes per await')

    def test_await_cancelled_by_the_cancellable(self):
        import asyncio
        from gi.repository import GLib, Gio
        box = []
        go = threading.Event()

        def work():
            box.append(ThreadRef.Ref.new())
            go.wait()

        thread = threading.Thread(target=work)
        thread.start()
        while not box:
            time.sleep(0.01)
        cancellable = Gio.Cancellable()

        async def main():
            waiting = asyncio.ensure_future(box[0].wait_async(cancellable))
            await asyncio.sleep(0.05)
            self.assertFalse(waiting.done())
            threading.Thread(target=cancellable.cancel).start()
            with self.assertRaises(GLib.Error) as caught:
                await asyncio.wait_for(waiting, 10)
            self.assertTrue(caught.exception.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED))
            # and at once if cancelled before
            with self.assertRaises(GLib.Error):
                await asyncio.wait_for(box[0].wait_async(cancellable), 10)

        try:
            asyncio.run(main())
        finally:
            go.set()
            thread.join()

    def test_await_with_plain_asyncio_run(self):
        import asyncio
        box = []
        go = threading.Event()

        def work():
            box.append(ThreadRef.Ref.new())
            ThreadRef.finalize(time.sleep, 0.05)
            go.wait()

        thread = threading.Thread(target=work)
        thread.start()
        while not box:
            time.sleep(0.01)

        async def main():
            waiting = asyncio.ensure_future(box[0].wait_async())
            await asyncio.sleep(0.05)
            self.assertFalse(waiting.done())
            go.set()
            return await asyncio.wait_for(waiting, 10)

        self.assertIs(asyncio.run(main()), True)
        self.assertFalse(thread.is_alive() and box[0].is_alive())
        thread.join()

    def test_await_cancelled(self):
        import asyncio
        box = []
        go = threading.Event()

        def work():
            box.append(ThreadRef.Ref.new())
            go.wait()

        thread = threading.Thread(target=work)
        thread.start()
        while not box:
            time.sleep(0.01)

        async def main():
            with self.assertRaises(asyncio.TimeoutError):
                await asyncio.wait_for(box[0].wait_async(), 0.1)

        asyncio.run(main())
        go.set()
        thread.join()


class ExitTest(unittest.TestCase):
    def test_weakref_finalize_rules_at_exit(self):
        """At exit: atexit=True finalizers of every thread run newest first,
        atexit=False ones do not (also on the main thread), the main
        thread's refs call back, an error is reported and the rest run."""
        status, out, err = run_script('''
            import time
            def say(what):
                print(what, threading.current_thread().name, flush=True)
            started = threading.Event()
            def daemon():
                ThreadRef.finalize(say, 'daemon-1')
                ThreadRef.finalize(say, 'daemon-quiet').atexit = False
                global daemon_ref
                daemon_ref = ThreadRef.ref(lambda r: say('daemon-ref'))
                started.set()
                time.sleep(3600)
            threading.Thread(target=daemon, daemon=True, name='d').start()
            started.wait()
            ThreadRef.finalize(say, 'main-1')
            ThreadRef.finalize(say, 'main-quiet').atexit = False
            main_ref = ThreadRef.ref(lambda r: say('main-ref'))
            ThreadRef.finalize(lambda: 1 / 0)
            ThreadRef.finalize(say, 'main-2')
        ''')
        self.assertEqual(status, 0, err)
        self.assertEqual(out.split('\n'), ['main-2 MainThread', 'main-ref MainThread',
                                           'main-1 MainThread', 'daemon-1 MainThread', ''])
        self.assertIn('ZeroDivisionError', err)

    def test_atexit_false_on_the_main_thread(self):
        """The documented contract (languages.md): at exit, an atexit=False
        ThreadRef.finalize of the main thread does not run (weakref.finalize's
        rule); an atexit=False ThreadRef.Finalize (the GObject class) does
        (the C rule its atexit property documents: the exiting thread
        ends)."""
        status, out, err = run_script('''
            f = ThreadRef.Finalize(print, 'Finalize ran')
            f.atexit = False
            g = ThreadRef.finalize(print, 'finalize ran')
            g.atexit = False
        ''')
        self.assertEqual((status, out), (0, 'Finalize ran\n'), err)

    def test_exit_order_is_newest_first_across_threads(self):
        """As weakref.finalize's at exit: Python finalizers of all threads
        newest first (the main thread's all ran first, then the others')."""
        status, out, err = run_script('''
            import time
            def daemon(name, made, go):
                ThreadRef.finalize(print, name + '-1')
                made.set(); go.wait()
                ThreadRef.finalize(print, name + '-2')
                made2.set(); time.sleep(3600)
            made2 = threading.Event()
            ThreadRef.finalize(print, 'main-1')
            made, go = threading.Event(), threading.Event()
            threading.Thread(target=daemon, args=('d', made, go), daemon=True).start()
            made.wait()
            ThreadRef.finalize(print, 'main-2')
            go.set(); made2.wait()
            ThreadRef.finalize(print, 'main-3')
        ''')
        self.assertEqual((status, out.split()), (0, ['main-3', 'd-2', 'main-2', 'd-1', 'main-1']), err)

    def test_explicit_run_atexit_runs_other_threads_finalizers(self):
        """ThreadRef.run_atexit() called by the program runs the atexit
        finalizers of threads that still run, as C does; their refs and
        atexit=False finalizers wait for their end. (They were all skipped
        and consumed: never run at all.)"""
        status, out, err = run_script('''
            def say(what):
                print(what, threading.current_thread().name, flush=True)
            ready = threading.Event(); stop = threading.Event()
            def worker():
                ThreadRef.finalize(say, 'quiet').atexit = False
                ThreadRef.finalize(say, 'finalize')
                ThreadRef.Finalize(say, 'Finalize')
                global r
                r = ThreadRef.ref(lambda r: say('ref'))
                ThreadRef.finalize(say, 'newest')
                ready.set(); stop.wait()
            t = threading.Thread(target=worker, name='w'); t.start(); ready.wait()
            ThreadRef.run_atexit()
            print('--', flush=True)
            stop.set(); t.join()
            print('joined', flush=True)
        ''')
        self.assertEqual(status, 0, err)
        self.assertEqual(out.split('\n'), ['newest MainThread', 'Finalize MainThread',
                                           'finalize MainThread', '--', 'ref w', 'quiet w',
                                           'joined', ''])

    def test_late_registration_at_exit(self):
        """Kind of f1_late_atexit.py: what registers after the override's exit
        handler (an older atexit handler, any API) is refused at once with a
        warning; nothing crashes."""
        # A handler registered before gi.repository.ThreadRef was imported
        # runs after the override's.
        proc = subprocess.run([sys.executable, '-c', textwrap.dedent('''
            import atexit
            def late():
                from gi.repository import ThreadRef
                ThreadRef.Finalize.new(print, 'late Finalize ran')
                ThreadRef.finalize(print, 'late finalize ran')
                r = ThreadRef.Ref.new(lambda r: print('late Ref ran'))
                q = ThreadRef.ref(lambda r: print('late ref ran'))
                print('late registered', flush=True)
            atexit.register(late)
            import gi
            gi.require_version('ThreadRef', '1.0')
            from gi.repository import ThreadRef
            ThreadRef.Finalize.new(print, 'normal ran')
        ''')], capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, 'normal ran\nlate registered\n')
        self.assertEqual(proc.stderr.count('RuntimeWarning'), 4, proc.stderr)

    def test_other_threads_finalize_in_its_place_among_main_Finalize(self):
        """10c/07: at exit, a still-running worker's newer ThreadRef.finalize
        ran after the main thread's older ThreadRef.Finalize (it was placed
        by age among the main thread's ThreadRef.finalize entries only)."""
        status, out, err = run_script('''
            ThreadRef.Finalize(print, 'main Finalize 1')
            ready, never = threading.Event(), threading.Event()
            def worker():
                ThreadRef.finalize(print, 'worker finalize 2')
                ready.set()
                never.wait()
            threading.Thread(target=worker, daemon=True).start()
            ready.wait()
            ThreadRef.Finalize(print, 'main Finalize 3')
        ''')
        self.assertEqual((status, out), (0, 'main Finalize 3\nworker finalize 2\n'
                                            'main Finalize 1\n'), err)

    def test_late_watch_of_a_running_thread_warns(self):
        """10c/08: after the override's exit handler, watch() and
        watch_finalize() on a thread that still runs returned None (\"it
        has ended\") with no warning; they warn as other late ones do."""
        proc = subprocess.run([sys.executable, '-c', textwrap.dedent('''
            import atexit, threading, time
            def late():
                w = worker_ref.watch(print)                     # line 4
                f = worker_ref.watch_finalize(print, 'x')       # line 5
                print(w, f, worker_ref.alive, flush=True)
                go.set()
            atexit.register(late)
            import gi
            gi.require_version('ThreadRef', '1.0')
            from gi.repository import ThreadRef
            box, go = [], threading.Event()
            def worker():
                box.append(ThreadRef.Ref.new(None))
                go.wait()
            threading.Thread(target=worker, daemon=True).start()
            while not box:
                time.sleep(0.001)
            worker_ref = box[0]
        ''')], capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, 'None None True\n')
        lines = [line.split(': RuntimeWarning')[0] for line in proc.stderr.split('\n')
                 if 'RuntimeWarning' in line]
        self.assertEqual(lines, ['<string>:4', '<string>:5'], proc.stderr)

    def test_refused_warning_names_the_callers_line(self):
        """The RuntimeWarning of a refused registration names the line
        that made it, for every API (it named the override's own line)."""
        proc = subprocess.run([sys.executable, '-c', textwrap.dedent('''
            import atexit
            def late():
                from gi.repository import ThreadRef
                ThreadRef.finalize(print, 'x')          # line 5
                ThreadRef.ref(print)                    # line 6
                ThreadRef.Ref.new(print)                # line 7
                ThreadRef.Finalize.new(print, 'x')      # line 8
            atexit.register(late)
            import gi
            gi.require_version('ThreadRef', '1.0')
            from gi.repository import ThreadRef
        ''')], capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = [line.split(': RuntimeWarning')[0] for line in proc.stderr.split('\n')
                 if 'RuntimeWarning' in line]
        self.assertEqual(lines, ['<string>:5', '<string>:6', '<string>:7', '<string>:8'],
                         proc.stderr)

    def test_nothing_of_python_called_after_python_is_gone(self):
        """Kind of 10b/02: a ThreadRef.Finalize that a daemon thread makes
        while the exit pass runs is left for C's own exit pass, after
        Py_Finalize; that pass called PyGObject's closure and destroy
        notify (a SIGSEGV every time). It calls nothing of Python's now."""
        status, out, err = run_script('''
            import time
            asked, made = threading.Event(), threading.Event()
            def daemon():
                asked.wait()
                ThreadRef.Finalize(print, 'late Finalize')
                made.set()
                time.sleep(30)
            threading.Thread(target=daemon, daemon=True).start()
            # The main thread's own, run first by the exit pass.
            ThreadRef.finalize(lambda: (asked.set(), made.wait()))
            print('main returns', flush=True)
        ''', timeout=30)
        self.assertEqual((status, out), (0, 'main returns\n'), err)

    def test_sys_exit_in_worker_callback(self):
        """Kind of c_sysexit.py: never a hang, never a silent exit."""
        status, out, err = run_script('''
            def work():
                ThreadRef.Finalize.new(lambda: print('older finalizer', flush=True))
                ThreadRef.Finalize.new(sys.exit, 3)
                ThreadRef.finalize(sys.exit, 4)
            t = threading.Thread(target=work); t.start(); t.join()
            print('main continues after join', flush=True)
        ''', timeout=30)
        self.assertEqual((status, out), (0, 'older finalizer\nmain continues after join\n'), err)
        self.assertEqual(err.count('SystemExit'), 2, err)


class SignalTest(unittest.TestCase):
    def test_ctrl_c_while_a_lifetime_ends_on_the_main_thread(self):
        """Kind of 10b/05: a SIGINT storm while end_lifetime() and nested
        lifetimes end on the main thread. A KeyboardInterrupt used to land in
        the override's dispatch: PyGObject printed it (the program never
        saw it) and that batch's finalizers never ran. Every interrupt
        reaches the program now, and every finalizer runs."""
        status, out, err = run_script('''
            import os, signal, time
            raised = caught = lost = 0
            armed = False   # the handler raises only inside the try below
            def on_sigint(*args):
                global raised, armed
                if armed:
                    # One per try: another one while the first propagates
                    # would replace it (Python's rule, not threadref's).
                    armed = False
                    raised += 1
                    raise KeyboardInterrupt
            signal.signal(signal.SIGINT, on_sigint)
            # PyGObject makes a wrapper class on first use: a KeyboardInterrupt
            # inside that aborts it (no threadref involved), so not in the storm.
            with ThreadRef.nested_lifetime():
                ThreadRef.finalize(int)
            ThreadRef.finalize(int)
            ThreadRef.end_lifetime()
            stop = threading.Event()
            def storm():
                while not stop.is_set():
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(0.0002)
            threading.Thread(target=storm, daemon=True).start()
            deadline = time.monotonic() + 1.5
            n = 0
            while time.monotonic() < deadline:
                n += 1
                ran = []
                try:
                    armed = True
                    if n % 2:
                        f = ThreadRef.finalize(ran.append, 1)
                        ThreadRef.end_lifetime()
                    else:
                        with ThreadRef.nested_lifetime():
                            f = ThreadRef.finalize(ran.append, 1)
                    armed = False
                    if not ran:
                        lost += 1
                except KeyboardInterrupt:
                    armed = False
                    caught += 1
            stop.set()
            time.sleep(0.05)
            print(raised > 0, raised == caught, lost, flush=True)
        ''', timeout=60)
        self.assertEqual((status, out), (0, 'True True 0\n'), err)
        self.assertNotIn('_dispatch', err)

    def test_callbacks_see_and_set_the_programs_handlers(self):
        """10c/02 and 05: callbacks saw the override's stand-in as
        signal.getsignal(SIGINT) (chaining to it or putting it back later
        made Ctrl-C a no-op for good), and a handler a callback set was not
        deferred: a later Ctrl-C cut an older callback short and was
        swallowed."""
        status, out, err = run_script('''
            import os, signal
            import _signal
            seen, log = [], []
            def chain():
                prev = signal.getsignal(signal.SIGINT)
                seen.append(prev is signal.default_int_handler)
                def handler(signum, frame):
                    log.append('chained')
                    prev(signum, frame)
                signal.signal(signal.SIGINT, handler)
            def victim():
                os.kill(os.getpid(), signal.SIGINT)
                log.append('victim done')
            ThreadRef.finalize(log.append, 'f1')
            ThreadRef.finalize(victim)
            ThreadRef.finalize(chain)
            try:
                ThreadRef.end_lifetime()
                print('not raised')
            except KeyboardInterrupt:
                print('raised', log)
            print(seen, _signal.getsignal(signal.SIGINT) is signal.getsignal(signal.SIGINT))
            try:
                os.kill(os.getpid(), signal.SIGINT)
                print('swallowed')
            except KeyboardInterrupt:
                print('raised again')
        ''')
        self.assertEqual((status, out), (0, "raised ['victim done', 'f1', 'chained']\n"
                                            "[True] True\nraised again\n"), err)

    def _fork_in_a_callback(self, from_worker):
        return run_script('''
            import os, signal, time
            import _signal
            def child():
                # The program's handler, for real, and Ctrl-C works at once.
                ok = _signal.getsignal(signal.SIGINT) is signal.default_int_handler
                try:
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(1)
                    os._exit(3)
                except KeyboardInterrupt:
                    os._exit(0 if ok else 4)
            def fork():
                pid = os.fork()
                if pid == 0:
                    child()
                print('child', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
            def in_worker_child():
                # A fork child of a worker: that thread is its main thread,
                # and Ctrl-C is deferred there as on the main thread.
                log = []
                def f2():
                    os.kill(os.getpid(), signal.SIGINT)
                    log.append('f2')
                ThreadRef.finalize(log.append, 'f1')
                ThreadRef.finalize(f2)
                ThreadRef.finalize(log.append, 'f3')
                try:
                    ThreadRef.end_lifetime()
                    os._exit(5)
                except KeyboardInterrupt:
                    os._exit(0 if log == ['f3', 'f2', 'f1'] else 6)
            def worker():
                pid = os.fork()
                if pid == 0:
                    in_worker_child()
                print('worker child', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]),
                      flush=True)
            if FROM_WORKER:
                t = threading.Thread(target=worker)
                t.start()
                t.join()
            else:
                ThreadRef.finalize(fork)
                ThreadRef.end_lifetime()
        '''.replace('FROM_WORKER', str(from_worker)))

    def test_a_child_forked_in_a_callback_has_the_programs_handlers(self):
        """10c/03: a process forked inside a callback kept the stand-in as
        its SIGINT handler for life: Ctrl-C never stopped it."""
        status, out, err = self._fork_in_a_callback(False)
        self.assertEqual((status, out), (0, 'child 0\n'), err)

    def test_signals_are_deferred_in_a_fork_child_of_a_worker(self):
        """10c/04: in a fork child made by a worker thread (its main
        thread), a Ctrl-C during end_lifetime() cut a callback short and
        never reached the program."""
        status, out, err = self._fork_in_a_callback(True)
        self.assertEqual((status, out), (0, 'worker child 0\n'), err)


class NestedLifetimeTest(unittest.TestCase):
    """Nested lifetimes as a context manager (issue 13)."""

    def test_job_registrations_end_with_the_block(self):
        """What a with-block registers ends with it, newest first; what was
        registered before is untouched; a ref made inside dies with it."""
        log = []
        seen = {}

        def worker():
            ThreadRef.finalize(log.append, 'worker')
            outer = ThreadRef.ref()
            with ThreadRef.nested_lifetime() as lifetime:
                inner = ThreadRef.ref()
                ThreadRef.finalize(log.append, 'job1')
                ThreadRef.finalize(log.append, 'job2')
                seen['alive-inside'] = (lifetime.is_alive(), inner() is not None)
            seen['after'] = list(log)
            seen['alive-after'] = (lifetime.is_alive(), inner() is not None, outer() is not None)

        run_thread(worker)
        self.assertEqual(seen['alive-inside'], (True, True))
        self.assertEqual(seen['after'], ['job2', 'job1'])
        self.assertEqual(seen['alive-after'], (False, False, True))
        self.assertEqual(log, ['job2', 'job1', 'worker'])

    def test_block_left_by_an_exception(self):
        """The block ends its lifetime however it is left."""
        log = []

        def worker():
            try:
                with ThreadRef.nested_lifetime():
                    ThreadRef.finalize(log.append, 'job')
                    raise KeyError('job failed')
            except KeyError:
                log.append('caught')

        run_thread(worker)
        self.assertEqual(log, ['job', 'caught'])

    def test_interleaved_blocks_raise_and_lose_nothing(self):
        """Two asyncio tasks whose blocks span an await: the first to close
        is not the innermost. That raises (it used to give a critical, lose
        the block's cleanup and leave its lifetime open for good); closed
        later in the right place, its cleanup runs."""
        import asyncio
        log = []
        blocks = {}
        errors = []

        async def job(name, delay):
            block = blocks[name] = ThreadRef.nested_lifetime()
            try:
                with block as lifetime:
                    ThreadRef.finalize(log.append, name + ' cleanup')
                    await asyncio.sleep(delay)
            except RuntimeError as error:
                errors.append((name, str(error)))
            return lifetime

        async def main():
            return await asyncio.gather(job('A', 0.01), job('B', 0.05))

        def worker():
            a, b = asyncio.run(main())
            seen['after'] = (list(log), a.is_alive(), b.is_alive())
            blocks['A'].__exit__(None, None, None)
            seen['closed'] = (list(log), a.is_alive())

        seen = {}
        run_thread(worker)
        self.assertEqual([name for name, error in errors], ['A'])
        self.assertIn('innermost', errors[0][1])
        self.assertEqual(seen['after'], (['B cleanup'], True, False))
        self.assertEqual(seen['closed'], (['B cleanup', 'A cleanup'], False))

    def test_block_closed_on_another_thread_raises(self):
        block = ThreadRef.nested_lifetime()
        log = []
        errors = []

        def close_there():
            try:
                block.__exit__(None, None, None)
            except RuntimeError:
                errors.append('raised')

        def worker():
            lifetime = block.__enter__()
            ThreadRef.finalize(log.append, 'job')
            run_thread(close_there)
            seen.append((list(log), lifetime.is_alive()))
            block.__exit__(None, None, None)
            seen.append((list(log), lifetime.is_alive()))

        seen = []
        run_thread(worker)
        self.assertEqual(errors, ['raised'])
        self.assertEqual(seen, [([], True), (['job'], False)])

    def test_refs_in_a_lifetime_opened_by_begin(self):
        """ThreadRef.nested_lifetime_begin()/end() outside the context
        manager: a ThreadRef.ref made inside belongs to the nested lifetime
        (it took the outer one, from the override's cache)."""
        seen = {}

        def worker():
            outer = ThreadRef.ref()
            lifetime = ThreadRef.nested_lifetime_begin()
            r = ThreadRef.ref()
            keep = ThreadRef.ref(lambda ref: seen.setdefault('dead in callback', ref() is None))
            seen['inside'] = (r == outer, r() is not None)
            ThreadRef.nested_lifetime_end(lifetime)
            seen['after'] = (r() is None, keep() is None, outer() is not None)

        run_thread(worker)
        self.assertEqual(seen, {'inside': (False, True), 'dead in callback': True,
                                'after': (True, True, True)})

    def test_ref_with_callback_in_a_lifetime_opened_by_c(self):
        """A nested lifetime opened by C code (here the introspected
        function, past the override): a ref with a callback learns its
        lifetime from its registration."""
        from gi.module import get_introspection_module
        c_api = get_introspection_module('ThreadRef')
        seen = {}

        def worker():
            outer = ThreadRef.ref()
            lifetime = c_api.nested_lifetime_begin()
            r = ThreadRef.ref(lambda ref: seen.setdefault('dead in callback', ref() is None))
            seen['inside'] = (r == outer, r() is not None)
            c_api.nested_lifetime_end(lifetime)
            seen['after'] = (r() is None, outer() is not None)

        run_thread(worker)
        self.assertEqual(seen, {'inside': (False, True), 'dead in callback': True,
                                'after': (True, True)})


if __name__ == '__main__':
    unittest.main(verbosity=2)
