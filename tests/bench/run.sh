#!/bin/sh
# run.sh -- `make bench`: every tests/bench/*_bench.sh in turn. Each measures faultline and
# its peer(s) in the same run, interleaved, and prints medians and ratios (the machine is
# noisy: compare within a run, never across runs). FL_BENCH_QUICK=1 shortens them.
#   make bench               all
#   make bench BENCH=proxy       only tests/bench/proxy_bench.sh
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
rc=0
for b in tests/bench/*_bench.sh; do
  name=$(basename "$b" _bench.sh)
  if [ -n "${BENCH:-}" ] && [ "$BENCH" != "$name" ]; then continue; fi
  echo "==== bench: $name ($b)"
  sh "$b" || { echo "bench $name: exit $?"; rc=1; }
  echo
done
exit $rc
