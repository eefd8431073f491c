# A shim for `meson devenv` and the tests, never installed. This folder comes
# first on PYTHONPATH: it loads the real PyGObject from the rest of sys.path
# and adds threadref's uninstalled override (introspection/python) to it.
# Without PyGObject, `import gi` fails as it would without this folder
# ("No module named 'gi'"), not with a bare namespace package.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import importlib.machinery
import importlib.util
import os
import sys

_here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_overrides = os.path.join(os.path.dirname(_here), 'python', 'gi', 'overrides')
_rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
_spec = importlib.machinery.PathFinder.find_spec(__name__, _rest)
if _spec is None or _spec.origin is None:
    del sys.modules[__name__]
    raise ModuleNotFoundError("No module named 'gi'", name='gi')

_real = importlib.util.module_from_spec(_spec)
sys.modules[__name__] = _real
_spec.loader.exec_module(_real)

import gi.overrides  # noqa: E402  (the real one, now)

gi.overrides.__path__.append(_overrides)
