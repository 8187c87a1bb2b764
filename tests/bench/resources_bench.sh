#!/bin/sh
# resources_bench.sh -- what sampling container resources costs: faultline's own CPU (user +
# sys) and dockerd's over a run of a plan that only waits, with `monitor:` listing N
# containers and without, interleaved, medians and the difference per container.
#   sh tests/bench/resources_bench.sh [rounds] [containers] [seconds]   (default 5 10 20)
#   FL_BENCH_QUICK=1: 3 rounds of 10 s
# Needs a Docker engine that answers (make test starts one) and the hostbin image; skips
# (exit 0) otherwise. The containers are named fl-bench-res-<pid>-K and removed at the end.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
B=${FL_BUILD:-build}
rounds=${1:-5}; n=${2:-10}; secs=${3:-20}
if [ "${FL_BENCH_QUICK:-0}" = 1 ] && [ -z "${1:-}" ]; then rounds=3; secs=10; fi
docker info >/dev/null 2>&1 || { echo "resources bench: skipped (no Docker engine answers)"; exit 0; }
docker image inspect hostbin >/dev/null 2>&1 || { echo "resources bench: skipped (no hostbin image: sh scripts/dockerd-up.sh)"; exit 0; }
dpid=$(pidof dockerd | cut -d' ' -f1)
tmp=$(mktemp -d /tmp/fl-bench-res-XXXXXX)
names=""
cleanup() { for c in $names; do docker rm -f "$c" >/dev/null 2>&1; done; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
for k in $(seq 1 "$n"); do
  c=fl-bench-res-$$-$k
  docker run -d --name "$c" --label faultline.bench=resources --network host -v /usr:/usr:ro -v /lib:/lib:ro \
    -v /lib64:/lib64:ro -v /bin:/bin:ro hostbin /bin/sleep 3600 >/dev/null || exit 1
  names="$names $c"
done
mon=$(echo $names | sed 's/ /, /g')
for v in with without; do
  {
    printf 'faultline: 1\nname: res-bench-%s\nduration: %ss\n' "$v" "$secs"
    [ "$v" = with ] && printf 'monitor: [ %s ]\n' "$mon"
    printf 'method:\n  - { at: 1s, fault: exec, run: "true" }\n'
  } > "$tmp/$v.yaml"
done
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime of a process, in clock ticks
hz=$(getconf CLK_TCK)
for r in $(seq 1 "$rounds"); do
  for v in with without; do
    d0=$(ticks "$dpid")
    /usr/bin/time -f '%U %S' -o "$tmp/time" "$B/faultline" run "$tmp/$v.yaml" -o "$tmp/out-$v" >/dev/null 2>&1
    d1=$(ticks "$dpid")
    fl=$(awk '{print $1 + $2}' "$tmp/time")
    echo "$v $fl $(echo "$d0 $d1 $hz" | awk '{print ($2 - $1) / $3}')" >> "$tmp/results"
  done
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
fw=$(awk '$1 == "with" {print $2}' "$tmp/results" | median); fo=$(awk '$1 == "without" {print $2}' "$tmp/results" | median)
dw=$(awk '$1 == "with" {print $3}' "$tmp/results" | median); do=$(awk '$1 == "without" {print $3}' "$tmp/results" | median)
samples=$(python3 -c "import json; r=json.load(open('$tmp/out-with/run.json')); print(sum(len(c['series']['t_ms']) for c in r['resources']['containers']))" 2>/dev/null || echo "?")
echo "resources bench: $rounds rounds, $n containers, ${secs}s runs (medians; $samples samples in the last run with monitor:)"
printf '  %-28s %8s %8s %10s\n' "" "with" "without" "per ctr"
printf '  %-28s %7.2fs %7.2fs %9.1fms\n' "faultline CPU (user+sys)" "$fw" "$fo" "$(echo "$fw $fo $n" | awk '{print ($1 - $2) / $3 * 1000}')"
printf '  %-28s %7.2fs %7.2fs %9.1fms\n' "dockerd CPU over the run" "$dw" "$do" "$(echo "$dw $do $n" | awk '{print ($1 - $2) / $3 * 1000}')"
echo "  faultline: $(echo "$fw $fo $secs" | awk '{printf "%.2f%%", ($1 - $2) / $3 * 100}') of one core for sampling $n containers once a second"
