#!/usr/bin/env python3
# python-site-dir.py PREFIX MESON_DIR: where, under PREFIX, this interpreter
# looks for packages.
#
# meson's python.get_install_dir() follows Debian's packaging layout
# (PREFIX/lib/python3/dist-packages), which Debian's own python3 searches
# only for PREFIX=/usr: for /usr/local it searches
# /usr/local/lib/python3.X/dist-packages. An override installed where the
# interpreter never looks is not an override, so prefer a folder of
# sys.path under PREFIX; keep MESON_DIR if there is none (a private prefix,
# which needs PYTHONPATH anyway).
import os
import sys

prefix, meson_dir = sys.argv[1], sys.argv[2]
candidates = [os.path.normpath(p) for p in sys.path
              if p and os.path.basename(os.path.normpath(p)) in ('dist-packages', 'site-packages')]
if os.path.normpath(meson_dir) in candidates:
    print(meson_dir)
    sys.exit(0)
under = [p for p in candidates if os.path.commonpath([p, os.path.normpath(prefix)]) == os.path.normpath(prefix)]
print(under[0] if under else meson_dir)
