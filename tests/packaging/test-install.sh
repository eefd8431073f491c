#!/bin/sh
# Installs the build into a temporary root with `meson install --destdir`,
# then builds and runs a C, a Python and a Vala consumer against the
# installed files only.
# Usage: test-install.sh BUILDDIR SOURCEDIR [PYTHON]
set -eu

build=$1
src=$2
python=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >/dev/null

pc=$(find "$tmp/root" -name threadref-1.0.pc | head -n 1)
[ -n "$pc" ] || { echo "no threadref-1.0.pc installed"; exit 1; }
prefix=$(sed -n 's/^prefix=//p' "$pc")
mkdir "$tmp/pkgconfig"
# The .pc names the real prefix; point it at the temporary root.
sed "s|^prefix=.*|prefix=$tmp/root$prefix|" "$pc" > "$tmp/pkgconfig/threadref-1.0.pc"

export PKG_CONFIG_PATH="$tmp/pkgconfig"
libdir=$(pkg-config --variable=libdir threadref-1.0)
export LD_LIBRARY_PATH="$libdir"
export GI_TYPELIB_PATH="$libdir/girepository-1.0"
unset PYTHONPATH XDG_DATA_DIRS

echo "installed files:"
(cd "$tmp/root" && find . -type f | sort)

# C, through pkg-config only.
${CC:-cc} ${CONSUMER_CFLAGS:-} -o "$tmp/c-consumer" "$src/tests/consumer/contract-check.c" \
  $(pkg-config --cflags --libs threadref-1.0)
"$tmp/c-consumer"

# Python, through the installed typelib and override.
if [ -n "$python" ] && [ -f "$GI_TYPELIB_PATH/ThreadRef-1.0.typelib" ]; then
  override=$(find "$tmp/root" -path '*/gi/overrides/ThreadRef.py' | head -n 1)
  [ -n "$override" ] || { echo "the Python override was not installed"; exit 1; }
  # Where the interpreter looks under the prefix, moved into the temporary
  # root: what a real install would give, so an override installed where the
  # interpreter never looks fails here. A private prefix the interpreter
  # does not know needs PYTHONPATH anyway: use the override's own folder.
  pythonpath=$("$python" -c 'import os, sys
root, prefix = sys.argv[1], os.path.normpath(sys.argv[2])
print(":".join(root + p for p in sys.path if p and os.path.commonpath([os.path.normpath(p), prefix]) == prefix and p.endswith("-packages")))' "$tmp/root" "$prefix")
  [ -n "$pythonpath" ] || pythonpath=$(dirname "$(dirname "$(dirname "$override")")")
  PYTHONPATH=$pythonpath \
    LD_PRELOAD=${SANITIZER_PRELOAD:-} \
    "$python" "$src/tests/packaging/installed-consumer.py" "$tmp/root"
else
  echo "python consumer: skipped (no PyGObject, no typelib, or the override is not installed: -Dpygobject=disabled)"
fi

# Vala, with valac --pkg threadref-1.0 and the installed vapi.
vapidir=$(dirname "$(find "$tmp/root" -name threadref-1.0.vapi | head -n 1)")
if command -v valac >/dev/null 2>&1 && [ -f "$vapidir/threadref-1.0.vapi" ]; then
  valac --quiet --vapidir "$vapidir" --pkg threadref-1.0 \
    -X -w ${CONSUMER_CFLAGS:+-X "$CONSUMER_CFLAGS"} \
    -o "$tmp/vala-consumer" "$src/tests/packaging/installed-consumer.vala"
  "$tmp/vala-consumer"
else
  echo "vala consumer: skipped (no valac or no vapi)"
fi
