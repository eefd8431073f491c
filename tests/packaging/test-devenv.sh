#!/bin/sh
# Runs a C, a Python, a GJS and a Vala consumer inside `meson devenv`, with
# nothing else pointing at the build, to prove the devenv is enough.
# Usage: test-devenv.sh BUILDDIR SOURCEDIR [PYTHON]
set -eu

build=$1
src=$2
python=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

unset PKG_CONFIG_PATH LD_LIBRARY_PATH GI_TYPELIB_PATH PYTHONPATH XDG_DATA_DIRS LD_PRELOAD

in_devenv () {
  meson devenv -C "$build" "$@"
}

in_devenv sh -c "\${CC:-cc} ${CONSUMER_CFLAGS:-} -o '$tmp/c-consumer' '$src/tests/consumer/contract-check.c' \$(pkg-config --cflags --libs threadref-1.0)"
in_devenv "$tmp/c-consumer"

if [ -n "$python" ] && [ -f "$build/introspection/ThreadRef-1.0.typelib" ]; then
  in_devenv env LD_PRELOAD="${SANITIZER_PRELOAD:-}" "$python" -c "
import threading, gi, sys
gi.require_version('ThreadRef', '1.0')
from gi.repository import ThreadRef
seen = []
t = threading.Thread(target=lambda: ThreadRef.Finalize.new(seen.append, 1))
t.start(); t.join()
assert seen == [1], seen
print('python consumer: OK, override', sys.modules['gi.overrides.ThreadRef'].__file__)
"
fi

# A Python without PyGObject fails in the devenv as it does outside it.
if [ -n "$python" ]; then
  out=$(in_devenv "$python" -S -c 'import gi' 2>&1 || true)
  case $out in
    *"No module named 'gi'"*) echo "python without PyGObject: OK" ;;
    *) echo "python without PyGObject in the devenv: $out"; exit 1 ;;
  esac
fi

# What meson sets itself is not set twice.
for var in LD_LIBRARY_PATH GI_TYPELIB_PATH PYTHONPATH XDG_DATA_DIRS; do
  value=$(meson devenv -C "$build" --dump 2>/dev/null | sed -n "s/^$var=\"\(.*\)\"$/\1/p")
  dups=$(printf '%s\n' "$value" | tr ':' '\n' | grep -v '^\$' | sort | uniq -d)
  if [ -n "$dups" ]; then
    echo "meson devenv sets $var with duplicates: $dups"; exit 1
  fi
done

if command -v gjs >/dev/null 2>&1 && [ -f "$build/introspection/ThreadRef-1.0.typelib" ]; then
  in_devenv env LD_PRELOAD="${SANITIZER_PRELOAD:-}" gjs "$src/tests/packaging/devenv-consumer.js"
fi

if command -v valac >/dev/null 2>&1 && [ -f "$build/introspection/share/vala/vapi/threadref-1.0.vapi" ]; then
  in_devenv valac --quiet --pkg threadref-1.0 -X -w ${CONSUMER_CFLAGS:+-X "$CONSUMER_CFLAGS"} -o "$tmp/vala-consumer" \
    "$src/tests/packaging/installed-consumer.vala"
  in_devenv "$tmp/vala-consumer"
fi
