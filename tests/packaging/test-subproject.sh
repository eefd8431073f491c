#!/bin/sh
# Builds tests/packaging/subproject-consumer with threadref as its
# subproject (forcing the fallback) and runs it.
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

meson setup --force-fallback-for=threadref-1.0 "$tmp/build" "$tmp/consumer" >"$tmp/setup.log" 2>&1 \
  || { cat "$tmp/setup.log"; exit 1; }
meson compile -C "$tmp/build" >"$tmp/compile.log" 2>&1 || { cat "$tmp/compile.log"; exit 1; }
"$tmp/build/consumer"
