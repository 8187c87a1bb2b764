#!/bin/sh
# acgme_bench.sh -- the reference ACGME validator on the seeds' datasets (5.6K and 16.8K
# assignments, limits 5 s and 15 s) and on 1M assignments; goals: 16.8K under 5 ms, 1M
# under 0.5 s. Prints medians and the ratio to the seeds' limits.
#   sh tests/bench/acgme_bench.sh [runs]        (make bench runs it; needs build/libfaultline.a)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
B=${FL_BUILD:-build}
runs=${1:-15}
if [ ! -f "$B/libfaultline.a" ]; then
  echo "acgme bench: $B/libfaultline.a is missing (run make first)" >&2
  exit 1
fi
# the Makefile does not build tests/bench/*.c: link the driver against the library here
cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Iorchestrator -Ifaults -Iprobes -Ireports \
   -o "$B/acgme-bench" tests/bench/acgme_bench.c "$B/libfaultline.a" \
   $(pkg-config --cflags --libs libcurl libpq hiredis yaml-0.1 jansson) -lpthread -lm || exit 1
"$B/acgme-bench" --runs "$runs"
