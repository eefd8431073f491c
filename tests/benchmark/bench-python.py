# bench-python.py: ThreadRef.ref / ThreadRef.finalize against the threadref
# package's mechanism, side by side in one run (issue 10)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The baseline is the pure-Python threadref package's mechanism written
anew: a threading.local anchor, weakref.ref and weakref.finalize on it.
Each figure is the median of several rounds, the two sides interleaved;
ratios are ThreadRef's time over the baseline's, from the same run."""

import statistics
import sys
import threading
import time
import weakref

import gi

gi.require_version('ThreadRef', '1.0')
from gi.repository import ThreadRef  # noqa: E402


class baseline(object):
    """The package's mechanism (0BSD threadref 1.1.5, written anew)."""

    _local = threading.local()

    class _Anchor(object):
        __slots__ = ('__weakref__', 'thread')

    @classmethod
    def _anchor(cls):
        try:
            return cls._local.anchor
        except AttributeError:
            anchor = cls._local.anchor = cls._Anchor()
            anchor.thread = threading.current_thread()
            return anchor

    class ref(weakref.ref):
        __slots__ = ()

        def __new__(cls, callback=None):
            return super().__new__(cls, baseline._anchor(), callback)

        def __init__(self, callback=None):
            super().__init__(baseline._local.anchor, callback)

    class finalize(weakref.finalize):
        __slots__ = ()

        def __init__(self, func, /, *args, **kwargs):
            super().__init__(baseline._anchor(), func, *args, **kwargs)


SIDES = (('package', baseline), ('ThreadRef', ThreadRef))


def nothing(*args):
    pass


def finalize_many(api, n):
    """n finalizers made on one thread, fired when it ends: per register+fire."""
    def work():
        for _ in range(n):
            api.finalize(nothing)
    t0 = time.perf_counter()
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return (time.perf_counter() - t0) / n


def ref_many(api, n, callback=None):
    """n refs made and dropped at once on one thread: per make+drop."""
    def work():
        ref = api.ref
        t0 = time.perf_counter()
        for _ in range(n):
            ref(callback)
        box.append(time.perf_counter() - t0)
    box = []
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return box[0] / n


def one_per_thread(api, n, kind):
    """n threads, each making one registration: per thread (start, register,
    end, join)."""
    if kind == 'finalize':
        def work():
            api.finalize(nothing)
    else:
        def work():
            api.ref()
    t0 = time.perf_counter()
    for _ in range(n):
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    return (time.perf_counter() - t0) / n


CASES = [
    ('finalize register+fire, 1000 per thread', finalize_many, (1000,)),
    ('finalize register+fire, 100000 per thread', finalize_many, (100000,)),
    ('ref make+drop, 100000 per thread', ref_many, (100000,)),
    ('ref(callback) make+drop, 100000 per thread', ref_many, (100000, nothing)),
    ('finalize, one per thread (whole thread)', one_per_thread, (2000, 'finalize')),
    ('ref, one per thread (whole thread)', one_per_thread, (2000, 'ref')),
]

# What issue 10 asks: ThreadRef's time / the package's at most this.
TARGETS = {
    'finalize register+fire, 1000 per thread': 1.0,
    'finalize register+fire, 100000 per thread': 1.0,
    'ref make+drop, 100000 per thread': 1.5,
    'finalize, one per thread (whole thread)': 1.5,
    'ref, one per thread (whole thread)': 1.5,
}


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    failed = 0
    print('%-46s %12s %12s %7s %7s' % ('case (us per op, median of %d)' % rounds,
                                       'package', 'ThreadRef', 'ratio', 'target'))
    for name, func, args in CASES:
        times = {side: [] for side, _ in SIDES}
        for _ in range(rounds):
            for side, api in SIDES:
                times[side].append(func(api, *args))
        base = statistics.median(times['package'])
        ours = statistics.median(times['ThreadRef'])
        ratio = ours / base
        target = TARGETS.get(name)
        mark = '' if target is None else ('%.2f' % target)
        if target is not None and ratio > target:
            mark += ' MISSED'
            failed += 1
        print('%-46s %12.3f %12.3f %7.2f %7s' % (name, base * 1e6, ours * 1e6, ratio, mark),
              flush=True)
    print('%d of %d targets missed' % (failed, len(TARGETS)))


if __name__ == '__main__':
    main()
