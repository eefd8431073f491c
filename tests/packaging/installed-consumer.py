# installed-consumer.py: a Python program using the installed threadref
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import sys
import threading

import gi

gi.require_version('ThreadRef', '1.0')
from gi.repository import ThreadRef  # noqa: E402

expected_root = sys.argv[1]
override = sys.modules['gi.overrides.ThreadRef'].__file__
assert override.startswith(expected_root), override

seen = []
t = threading.Thread(target=lambda: ThreadRef.Finalize.new(seen.append, 'ran'))
t.start()
t.join()
assert seen == ['ran'], seen
print('python consumer: OK, override from', override)
