#!/bin/sh
# Builds and runs contract-check.c with nothing but `pkg-config threadref-1.0`
# and the C compiler, like an application outside this project.
# Usage: build-with-pkg-config.sh SOURCE OUTDIR
set -eu

src=$1
out=$2/contract-check
cc=${CC:-cc}

# shellcheck disable=SC2046
$cc ${CONSUMER_CFLAGS:-} -o "$out" "$src" $(pkg-config --cflags --libs threadref-1.0)
exec "$out"
