#!/bin/sh
# A feature set to `enabled` that cannot be built fails `meson setup` with
# a message that says why, as meson's rule for `enabled` (required) is: a
# packager learns it at configure time, not from a file missing from the
# package. Only configures (no build).
# Usage: test-options.sh SOURCEDIR
set -eu

src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

refused () {
  expected=$1
  shift
  dir="$tmp/b$#$(echo "$*" | tr -c 'a-z0-9' '_')"
  if meson setup "$@" "$dir" "$src" >"$dir.log" 2>&1; then
    echo "FAIL: meson setup $* configured; expected: $expected"
    failed=1
  elif ! grep -q "ERROR: .*$expected" "$dir.log"; then
    echo "FAIL: meson setup $* failed without saying '$expected':"
    grep ERROR "$dir.log" || tail -n 5 "$dir.log"
    failed=1
  else
    echo "ok: $* -> $(grep -o "ERROR: .*" "$dir.log" | head -n 1)"
  fi
}

refused 'vapi needs introspection' -Dvapi=enabled -Dintrospection=disabled
refused 'vapi needs introspection' -Dvapi=enabled -Ddefault_library=static
refused 'pygobject needs introspection' -Dpygobject=enabled -Dintrospection=disabled
refused 'pygobject needs introspection' -Dpygobject=enabled -Ddefault_library=static
refused 'documentation needs introspection' -Ddocumentation=enabled -Dintrospection=disabled
refused 'benchmarks needs tests=true' -Dbenchmarks=enabled -Dtests=false
exit $failed
