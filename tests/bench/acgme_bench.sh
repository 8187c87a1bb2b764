#!/bin/sh
# acgme_bench.sh -- the reference ACGME validator on the seeds' datasets (5.6K and 16.8K
# assignments, limits 5 s and 15 s) and on 1M assignments; goals: 16.8K under 5 ms, 1M
# under 0.5 s. Prints medians and the ratio to the seeds' limits.
#   sh tests/bench/acgme_bench.sh [runs]        (make bench runs it; needs build/libfaultline.a)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/bench/lib.sh
runs=${1:-15}
bench_link acgme "$B/acgme-bench" tests/bench/acgme_bench.c
"$B/acgme-bench" --runs "$runs"
