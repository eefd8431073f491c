#!/bin/sh
# Builds tests/packaging/subproject-consumer with threadref as its
# subproject (forcing the fallback, through the wrap the README shows), runs
# it, and checks that threadref added only its library to the parent: none
# of its tests, examples, benchmark or docs.
# Usage: test-subproject.sh SOURCEDIR
set -eu

src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cp -r "$src/tests/packaging/subproject-consumer" "$tmp/consumer"
mkdir "$tmp/consumer/subprojects"
# A clean copy of the sources (no build folders), as a release tarball or a
# wrap would give.
git -C "$src" ls-files -z --cached --others --exclude-standard 2>/dev/null | (cd "$src" && xargs -0 tar cf -) | tar xf - -C "$tmp" --one-top-level=threadref-src 2>/dev/null \
  || cp -r "$src" "$tmp/threadref-src"
ln -s "$tmp/threadref-src" "$tmp/consumer/subprojects/threadref"
sed -n '/^```ini$/,/^```$/p' "$src/README.md" | sed '1d;$d' > "$tmp/consumer/subprojects/threadref.wrap"
grep -q 'dependency_names = threadref-1.0' "$tmp/consumer/subprojects/threadref.wrap" \
  || { echo "README.md shows no wrap with [provide] dependency_names = threadref-1.0"; exit 1; }

meson setup --force-fallback-for=threadref-1.0 "$tmp/build" "$tmp/consumer" >"$tmp/setup.log" 2>&1 \
  || { cat "$tmp/setup.log"; exit 1; }
meson compile -C "$tmp/build" >"$tmp/compile.log" 2>&1 || { cat "$tmp/compile.log"; exit 1; }
"$tmp/build/consumer"

# Only the parent's own test.
tests=$(meson test -C "$tmp/build" --list 2>/dev/null | grep -v '^ninja' || true)
if [ "$tests" != "threadref-consumer / consumer" ] && [ "$tests" != "consumer" ]; then
  echo "the parent's tests are not only its own:"; echo "$tests"; exit 1
fi
# threadref's targets: its library (and the internal static part of it).
targets=$(meson introspect --targets "$tmp/build" | python3 -c '
import json, sys
print("\n".join(sorted(t["name"] for t in json.load(sys.stdin) if t["subproject"] == "threadref")))')
for t in $targets; do
  case $t in
    threadref-1.0|threadref-internal) ;;
    *) echo "threadref as a subproject builds more than its library: $t"; exit 1 ;;
  esac
done
meson test -C "$tmp/build" >"$tmp/test.log" 2>&1 || { cat "$tmp/test.log"; exit 1; }
echo "subproject: OK ($(echo $targets | wc -w) threadref targets: $(echo $targets))"

# A Vala parent that asks for the bindings gets the vapi through the same
# dependency('threadref-1.0'), and the README's Vala example builds and runs.
if command -v valac >/dev/null 2>&1 && command -v g-ir-scanner >/dev/null 2>&1 && command -v vapigen >/dev/null 2>&1; then
  mkdir "$tmp/vala-parent" "$tmp/vala-parent/subprojects"
  ln -s "$tmp/threadref-src" "$tmp/vala-parent/subprojects/threadref"
  cp "$tmp/consumer/subprojects/threadref.wrap" "$tmp/vala-parent/subprojects/"
  cat > "$tmp/vala-parent/meson.build" <<'MESON'
project('vala-parent', 'c', 'vala', meson_version: '>= 1.0.0')
executable('app', 'app.vala',
  dependencies: [dependency('glib-2.0'), dependency('gobject-2.0'), dependency('threadref-1.0')])
MESON
  sed -n '/^```vala$/,/^```$/p' "$src/README.md" | sed '1d;$d' > "$tmp/vala-parent/app.vala"
  [ -s "$tmp/vala-parent/app.vala" ] || { echo "README.md shows no Vala example"; exit 1; }
  meson setup --force-fallback-for=threadref-1.0 -Dthreadref:introspection=enabled \
    -Dthreadref:vapi=enabled "$tmp/vala-build" "$tmp/vala-parent" >"$tmp/vala-setup.log" 2>&1 \
    || { cat "$tmp/vala-setup.log"; exit 1; }
  meson compile -C "$tmp/vala-build" >"$tmp/vala-compile.log" 2>&1 \
    || { echo "a Vala parent does not build against the subproject's vapi:"; tail -n 20 "$tmp/vala-compile.log"; exit 1; }
  "$tmp/vala-build/app"
  echo "vala parent: OK"
else
  echo "vala parent: skipped (no valac, g-ir-scanner or vapigen)"
fi
