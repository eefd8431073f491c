# test_threadref.py: threadref from Python, through PyGObject and the override
#
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run with an interpreter that has PyGObject (Debian: /usr/bin/python3 with
python3-gi), GI_TYPELIB_PATH and LD_LIBRARY_PATH pointing at the build, and
PYTHONPATH at introspection/python (for the override); `meson devenv` sets
all of these."""

import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
import unittest
from weakref import ref as weakref_ref

import gi

gi.require_version('ThreadRef', '1.0')
from gi.repository import GLib, Gio, ThreadRef  # noqa: E402


def run_thread(target, *args):
    thread = threading.Thread(target=target, args=args)
    thread.start()
    thread.join()
    return thread


class OverrideTest(unittest.TestCase):
    def test_override_is_active(self):
        """The classes come from the override module."""
        self.assertEqual(ThreadRef.Ref.__module__, 'gi.overrides.ThreadRef')
        self.assertEqual(ThreadRef.Finalize.__module__, 'gi.overrides.ThreadRef')


class RefTest(unittest.TestCase):
    def test_callback_gets_the_ref(self):
        """The callback runs once, on the ending Python thread, with the
        ThreadRef.Ref itself, already dead; after join() it has run."""
        seen = []
        kept = []

        def callback(ref, data):
            seen.append((ref, data, ref.is_alive(), threading.get_ident()))

        def work():
            kept.append(ThreadRef.Ref.new(callback, 'payload'))
            kept.append(threading.get_ident())

        run_thread(work)
        self.assertEqual(len(seen), 1)
        ref, data, alive, ident = seen[0]
        self.assertIs(ref, kept[0])
        self.assertEqual(data, 'payload')
        self.assertFalse(alive)
        self.assertEqual(ident, kept[1])
        self.assertFalse(kept[0].props.alive)
        self.assertIsNone(kept[0].dup_thread())

    def test_dropped_ref_never_fires(self):
        """A ref dropped before its thread ends never calls back."""
        seen = []

        def work():
            ref = ThreadRef.Ref.new(lambda r, d: seen.append(d), 'x')
            del ref
            gc.collect()

        run_thread(work)
        self.assertEqual(seen, [])

    def test_alive_and_thread_from_another_thread(self):
        """A ref is alive, and gives its thread, while the thread runs."""
        made = threading.Event()
        may_end = threading.Event()
        box = []

        def work():
            box.append(ThreadRef.Ref.new(None, None))
            made.set()
            may_end.wait()

        thread = threading.Thread(target=work)
        thread.start()
        made.wait()
        ref = box[0]
        self.assertTrue(ref.is_alive())
        self.assertIsInstance(ref.dup_thread(), GLib.Thread)
        may_end.set()
        thread.join()
        self.assertFalse(ref.is_alive())
        self.assertIsNone(ref.dup_thread())

    def test_equal_and_hash(self):
        """Refs of one lifetime are equal and hash the same."""
        box = []

        def work():
            box.append(ThreadRef.Ref.new(None, None))
            box.append(ThreadRef.Ref())

        run_thread(work)
        run_thread(work)
        self.assertTrue(box[0].equal(box[1]))
        self.assertEqual(box[0].hash(), box[1].hash())
        self.assertFalse(box[0].equal(box[2]))


class WatchMemoryTest(unittest.TestCase):
    def test_watch_loses_no_memory(self):
        """10c/01: every ref.watch() lost some 48 bytes of Python memory for
        good (PyGObject 3.42's None callback given None user data, in the
        override's C call). Python's own allocations, so no sanitizer skip."""
        import tracemalloc
        box, go = [], threading.Event()

        def worker():
            box.append(ThreadRef.Ref.new(None))
            go.wait()

        thread = threading.Thread(target=worker)
        thread.start()
        try:
            while not box:
                time.sleep(0.001)
            worker_ref = box[0]
            for _ in range(2000):   # warm up (batches, caches)
                worker_ref.watch(len)
                worker_ref.watch()
            gc.collect()
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                for _ in range(10000):
                    worker_ref.watch(len)
                    worker_ref.watch()
                gc.collect()
                grown = tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()
        finally:
            go.set()
            thread.join()
        # Was some 960000 bytes (20000 watches).
        self.assertLess(grown, 100000)


class FinalizeTest(unittest.TestCase):
    def test_new_passes_data(self):
        """Finalize.new(func, data) calls func(data) on the ending thread."""
        seen = []

        def work():
            ThreadRef.Finalize.new(lambda d: seen.append((d, threading.get_ident())), 'data')
            seen.append(threading.get_ident())

        run_thread(work)
        self.assertEqual(seen[1], ('data', seen[0]))

    def test_keeps_itself_alive(self):
        """A finalizer whose Python object is gone still runs."""
        seen = []

        def work():
            fin = ThreadRef.Finalize.new(seen.append, 'ran')
            del fin
            gc.collect()
            self.assertEqual(seen, [])

        run_thread(work)
        self.assertEqual(seen, ['ran'])

    def test_reverse_creation_order(self):
        """Refs and finalizers of a thread run newest first."""
        seen = []
        keep = []

        def work():
            for i in range(5):
                ThreadRef.Finalize.new(seen.append, 'f%d' % i)
                keep.append(ThreadRef.Ref.new(lambda r, d: seen.append(d), 'r%d' % i))

        run_thread(work)
        self.assertEqual(seen, ['r4', 'f4', 'r3', 'f3', 'r2', 'f2', 'r1', 'f1', 'r0', 'f0'])

    def test_detached_by_c_lets_go_of_its_function_at_once(self):
        """10c/06: a ThreadRef.Finalize detached by C code (here the
        introspected method, past the override, on this thread and on
        another) kept its function and arguments in the override until an
        unrelated later sweep. They are let go at once now."""
        from gi.module import get_introspection_module
        c_detach = get_introspection_module('ThreadRef').Finalize.detach

        class Resource(object):
            pass

        for on_thread in (False, True):
            resource = Resource()
            gone = weakref_ref(resource)
            fin = ThreadRef.Finalize.new(print, resource)
            del resource
            result = []
            if on_thread:
                run_thread(lambda: result.append(c_detach(fin)))
            else:
                result.append(c_detach(fin))
            self.assertEqual(result, [True])
            self.assertFalse(fin.is_alive())
            del fin
            self.assertIsNone(gone(), on_thread)

    def test_call_detach_alive_atexit(self):
        """call() runs once, here; detach() prevents running; alive and
        atexit behave like weakref.finalize's."""
        seen = []
        fin = ThreadRef.Finalize.new(seen.append, 'called')
        self.assertTrue(fin.props.alive)
        self.assertTrue(fin.is_alive())
        self.assertTrue(fin.props.atexit)
        fin.props.atexit = False
        self.assertFalse(fin.get_atexit())
        fin.set_atexit(True)
        self.assertTrue(fin.props.atexit)

        self.assertTrue(fin.call())
        self.assertEqual(seen, ['called'])
        self.assertFalse(fin.call())
        self.assertFalse(fin.detach())
        self.assertFalse(fin.props.alive)
        self.assertEqual(seen, ['called'])

        other = ThreadRef.Finalize.new(seen.append, 'never')
        self.assertTrue(other.detach())
        self.assertFalse(other.detach())
        self.assertFalse(other.call())
        self.assertFalse(other.is_alive())
        self.assertEqual(seen, ['called'])

    def test_many_threads_at_once(self):
        """50 Python threads x 100 finalizers, all at once."""
        counts = {}
        lock = threading.Lock()
        start = threading.Barrier(50)

        def bump(ident):
            with lock:
                counts[ident] = counts.get(ident, 0) + 1

        def work():
            start.wait()
            for _ in range(100):
                ThreadRef.Finalize.new(bump, threading.get_ident())

        threads = [threading.Thread(target=work) for _ in range(50)]
        for thread in threads:
            thread.start()
        idents = [thread.ident for thread in threads]
        for thread in threads:
            thread.join()
        self.assertEqual(sum(counts.values()), 5000)
        for ident in idents:
            self.assertEqual(counts.get(ident), 100)

    def test_join_is_enough(self):
        """After Thread.join() returns, the thread's callbacks have run:
        every time, not most of the time."""
        for _ in range(300):
            seen = []
            run_thread(lambda: ThreadRef.Finalize.new(seen.append, 1))
            self.assertEqual(seen, [1])


class LifetimeTest(unittest.TestCase):
    def test_end_lifetime_in_a_reused_thread(self):
        """ThreadRef.end_lifetime() runs the current thread's finalizers now;
        later refs belong to a fresh lifetime."""
        seen = []

        def work():
            old = ThreadRef.Ref.new(None, None)
            ThreadRef.Finalize.new(seen.append, 'job1')
            ThreadRef.end_lifetime()
            seen.append('after-end')
            self.assertFalse(old.is_alive())
            new = ThreadRef.Ref.new(None, None)
            self.assertTrue(new.is_alive())
            self.assertFalse(new.equal(old))
            ThreadRef.Finalize.new(seen.append, 'job2')

        run_thread(work)
        self.assertEqual(seen, ['job1', 'after-end', 'job2'])

    def test_watch_other_thread(self):
        """A finalizer made from another thread runs on the watched thread;
        once it ended, watch() and watch_finalize() return None."""
        made = threading.Event()
        may_end = threading.Event()
        box = []
        seen = []

        def work():
            box.append(ThreadRef.Ref.new(None, None))
            box.append(threading.get_ident())
            made.set()
            may_end.wait()

        thread = threading.Thread(target=work)
        thread.start()
        made.wait()
        fin = box[0].watch_finalize(lambda d: seen.append((d, threading.get_ident())), 'w')
        self.assertIsNotNone(fin)
        del fin
        may_end.set()
        thread.join()
        self.assertEqual(seen, [('w', box[1])])
        self.assertIsNone(box[0].watch_finalize(seen.append, 'late'))
        self.assertIsNone(box[0].watch(None, None))

    def test_watch_finalize_knows_its_thread(self):
        """peek(), detach() and repr() of what watch_finalize() gives name
        the watched thread, as a ThreadRef.finalize made there does (they
        gave None)."""
        box = []
        ready = threading.Event()
        go = threading.Event()

        def work():
            box.append(ThreadRef.Ref.new(None, None))
            ready.set()
            go.wait()

        thread = threading.Thread(target=work, name='watched')
        thread.start()
        ready.wait()
        try:
            fin = box[0].watch_finalize(print, 'x')
            self.assertIs(fin.peek()[0], thread)
            self.assertIn('watched', repr(fin))
            self.assertEqual(fin.detach(), (thread, print, ('x',), {}))
        finally:
            go.set()
            thread.join()

    def test_watch_while_the_thread_ends(self):
        """watch() and watch_finalize() made while the watched thread ends:
        each either returns None or runs once, on the watched thread, by
        join(). (The thread's dispatch could come between C returning the
        batch and the override knowing it: lost, or run on the watcher.)"""
        wrong, lost = [], []
        old_interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)   # makes the window far more likely
        try:
            for i in range(1500):
                ran = {}
                box = []
                ready = threading.Event()
                go = threading.Event()

                def work():
                    box.append(ThreadRef.Ref.new(None, None))
                    ThreadRef.finalize(lambda: None)
                    ready.set()
                    go.wait()

                thread = threading.Thread(target=work, name='watched')
                thread.start()
                ready.wait()
                go.set()   # it ends now, while we watch it
                made = (('watch', box[0].watch(
                            lambda r: ran.setdefault('watch', threading.current_thread()))),
                        ('watch_finalize', box[0].watch_finalize(
                            lambda: ran.setdefault('watch_finalize', threading.current_thread()))))
                thread.join()
                for kind, obj in made:
                    if obj is None:
                        continue   # it had ended
                    if kind not in ran:
                        lost.append((i, kind))
                    elif ran[kind] is not thread:
                        wrong.append((i, kind, ran[kind].name))
        finally:
            sys.setswitchinterval(old_interval)
        self.assertEqual((wrong[:5], lost[:5]), ([], []))


class WaitTest(unittest.TestCase):
    def start_worker(self, seconds):
        box = []
        made = threading.Event()

        def work():
            box.append(ThreadRef.Ref.new(None, None))
            ThreadRef.Finalize.new(lambda d: time.sleep(d), 0.02)
            made.set()
            time.sleep(seconds)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        made.wait()
        return thread, box[0]

    def test_wait(self):
        """wait() times out while the thread runs, then returns True."""
        thread, ref = self.start_worker(0.2)
        self.assertFalse(ref.wait(0))
        self.assertTrue(ref.wait(-1))
        thread.join()

    def test_wait_async_main_loop(self):
        """wait_async() completes in the caller's main context."""
        thread, ref = self.start_worker(0.05)
        loop = GLib.MainLoop()
        result = []

        def done(source, res):
            result.append((source.wait_finish(res), threading.get_ident()))
            loop.quit()

        ref.wait_async(None, done)
        GLib.timeout_add_seconds(10, loop.quit)
        loop.run()
        self.assertEqual(result, [(True, threading.get_ident())])
        thread.join()

    def test_wait_async_cancel(self):
        """Cancelling wait_async() gives G_IO_ERROR_CANCELLED."""
        thread, ref = self.start_worker(0.5)
        loop = GLib.MainLoop()
        errors = []

        def done(source, res):
            try:
                source.wait_finish(res)
            except GLib.Error as error:
                errors.append(error)
            loop.quit()

        cancellable = Gio.Cancellable()
        ref.wait_async(cancellable, done)
        GLib.timeout_add(20, lambda: cancellable.cancel() and False)
        loop.run()
        self.assertEqual(len(errors), 1)
        self.assertTrue(errors[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED))
        thread.join()

    @unittest.skipIf(gi.version_info < (3, 50, 0),
                     'asyncio integration needs PyGObject 3.50; this is %s' % gi.__version__)
    def test_wait_async_asyncio(self):
        import asyncio
        from gi.events import GLibEventLoopPolicy

        thread, ref = self.start_worker(0.05)
        asyncio.set_event_loop_policy(GLibEventLoopPolicy())
        try:
            loop = asyncio.new_event_loop()
            self.assertTrue(loop.run_until_complete(ref.wait_async(None)))
            loop.close()
        finally:
            asyncio.set_event_loop_policy(None)
        thread.join()


class ExitTest(unittest.TestCase):
    def test_interpreter_exit(self):
        """An interpreter that exits with live finalizers on its main thread
        and on a daemon thread exits cleanly and runs them: the main
        thread's all, newest first; the daemon thread's atexit ones only."""
        script = textwrap.dedent('''
            import threading, time, gi
            gi.require_version('ThreadRef', '1.0')
            from gi.repository import ThreadRef

            def say(what):
                print(what, 'main' if threading.current_thread() is threading.main_thread() else 'other', flush=True)

            started = threading.Event()
            def daemon():
                ThreadRef.Finalize.new(say, 'daemon-atexit')
                quiet = ThreadRef.Finalize.new(say, 'daemon-no-atexit')
                quiet.props.atexit = False
                global daemon_ref
                daemon_ref = ThreadRef.Ref.new(lambda r, d: say(d), 'daemon-ref')
                started.set()
                time.sleep(3600)

            threading.Thread(target=daemon, daemon=True).start()
            started.wait()
            ThreadRef.Finalize.new(say, 'main-1')
            main_ref = ThreadRef.Ref.new(lambda r, d: say(d), 'main-ref')
            ThreadRef.Finalize.new(say, 'main-2')
        ''')
        proc = subprocess.run([sys.executable, '-c', script], capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, '')
        self.assertEqual(proc.stdout.split('\n'),
                         ['main-2 main', 'main-ref main', 'main-1 main',
                          'daemon-atexit main', ''])


if __name__ == '__main__':
    unittest.main(verbosity=2)
