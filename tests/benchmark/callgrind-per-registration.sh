#!/bin/sh
# callgrind-per-registration.sh: instructions per registration of every
# variant, counted by callgrind, which does not depend on the machine's noise
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: tests/benchmark/callgrind-per-registration.sh [BENCHMARK [N]]
#
# For each variant and operation, runs `threadref-benchmark --profile` with
# 1 and with N + 1 registrations under callgrind and prints the difference
# over N: everything one more registration costs, from the registration to
# its callback (or cancel) and its share of the thread's teardown. Keep the
# output files with KEEP=1 to read them with callgrind_annotate.

set -eu

bench=${1:-_build/tests/benchmark/threadref-benchmark}
n=${2:-10000}
out=${TMPDIR:-/tmp}/threadref-callgrind
mkdir -p "$out"

count () {
  G_SLICE=always-malloc valgrind --tool=callgrind \
    --callgrind-out-file="$out/$1-$2-$3.out" \
    "$bench" --profile "$1:$2:$3" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

printf '%-18s %-7s %12s\n' variant op instructions
for spec in plain:fire plain:cancel plain-thread-only:fire plain-thread-only:cancel \
            finalize:fire finalize:cancel ref:fire ref:cancel \
            naive:fire naive:cancel list:fire list:cancel cxa:fire gprivate:fire \
            gobject:fire gobject:cancel; do
  variant=${spec%%:*}
  op=${spec#*:}
  one=$(count "$variant" "$op" 1)
  many=$(count "$variant" "$op" $((n + 1)))
  printf '%-18s %-7s %12d\n' "$variant" "$op" $(((many - one) / n))
done

if [ "${KEEP:-0}" = 0 ]; then
  rm -rf "$out"
else
  echo "callgrind files in $out"
fi
