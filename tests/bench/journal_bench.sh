#!/bin/sh
# journal_bench.sh -- what the write-ahead journal costs a fault step, in one interleaved run:
#   1. tests/bench/journal_bench.c, to the microsecond: per fault kind (exec, redis.maxmemory,
#      proxy.latency, docker.pause when an engine answers), the step's parts -- observe
#      (prepare), the intent written and fsync'd, inject -- with the journal on this machine's
#      disk and on tmpfs (/dev/shm, where an fsync costs nothing), against the same inject with
#      no journal at all. Medians, and what observe+intent would add if done at the moment (the
#      runner does them up to 100 ms before at:, so they delay the effect only past that).
#   2. with FL_BENCH_BASELINE=/path/to/an/older/faultline: the same plan run end to end by the
#      built faultline and by that binary, interleaved; per kind the mean of run.json's
#      injected_at_ms - at_ms (ms resolution per step: a mean over many steps). Steps are
#      FL_BENCH_GAP ms apart (default 250; at 100 a step's early intent meets another's inject).
#   sh tests/bench/journal_bench.sh [rounds]        (make bench runs it; default 60 rounds)
#   FL_BENCH_QUICK=1: 15 rounds
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/bench/lib.sh
rounds=$(bench_rounds 60 15 "${1:-}")
command -v redis-server >/dev/null 2>&1 || { echo "journal bench: skipped (redis-server not installed)"; exit 0; }
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

work=$(mktemp -d /tmp/fl-journal-bench-XXXXXX)
shm=$(mktemp -d /dev/shm/fl-journal-bench-XXXXXX 2>/dev/null || echo "")
pids=""
cid=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null; done
  for p in $pids; do wait "$p" 2>/dev/null; done
  [ -n "$cid" ] && docker rm -f "$cid" >/dev/null 2>&1
  rm -rf "$work"
  [ -n "$shm" ] && rm -rf "$shm"
}
trap cleanup EXIT INT TERM
[ -n "$shm" ] || { echo "journal bench: skipped (no /dev/shm for the tmpfs peer)"; exit 0; }

port() { $PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
rport=$(port); lport=$(port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
pids="$pids $!"
for i in $(seq 1 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done

# a throwaway container for docker.pause, when an engine answers (removed on exit)
docker_args=""
dhost=${DOCKER_HOST:-unix:///var/run/docker.sock}
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  cid=$(docker run -d --label faultline.bench=journal --network host \
        -v /usr:/usr:ro -v /lib:/lib:ro -v /lib64:/lib64:ro -v /bin:/bin:ro hostbin /bin/sleep 3600 2>/dev/null || true)
  [ -n "$cid" ] && docker_args="--docker $dhost --container $cid"
fi

# 1. the driver, linked here against the library
bench_link journal "$work/journal-bench" tests/bench/journal_bench.c
# shellcheck disable=SC2086
"$work/journal-bench" --rounds "$rounds" --disk "$work" --shm "$shm" --redis "$rport" --proxy "$lport" $docker_args || exit 1

# 2. end to end against an older binary
[ -n "${FL_BENCH_BASELINE:-}" ] || exit 0
[ -x "$FL_BENCH_BASELINE" ] || { echo "journal bench: FL_BENCH_BASELINE '$FL_BENCH_BASELINE' is not executable" >&2; exit 1; }
lport2=$(port)
steps=25
gap=${FL_BENCH_GAP:-250}   # ms between steps: >100 ms, so a step's early intent does not meet another's inject
{
  echo "faultline: 1"
  echo "name: journal-bench"
  echo "duration: $(( (200 + steps * 4 * gap) / 1000 + 2 ))s"
  echo "targets:"
  echo "  cache: { redis: { url: \"redis://127.0.0.1:$rport/0\" } }"
  echo "  link: { proxy: { listen: \"127.0.0.1:$lport2\", upstream: \"127.0.0.1:$rport\" } }"
  [ -n "$cid" ] && echo "  box: { docker: { container: $cid, host: \"$dhost\" } }"
  echo "method:"
  i=0
  while [ $i -lt $steps ]; do
    at=$((200 + i * 4 * gap))
    echo "  - { name: exec-$i, at: ${at}ms, for: 50ms, fault: exec, run: \"true\" }"
    echo "  - { name: maxmemory-$i, at: $((at + gap))ms, for: 50ms, fault: redis.maxmemory, target: cache, bytes: 64mb }"
    echo "  - { name: proxy-$i, at: $((at + 2 * gap))ms, for: 50ms, fault: proxy.latency, target: link, latency: 1ms }"
    [ -n "$cid" ] && echo "  - { name: pause-$i, at: $((at + 3 * gap))ms, for: 50ms, fault: docker.pause, target: box }"
    i=$((i + 1))
  done
} >"$work/p.yaml"
: >"$work/results.txt"
e2e=$(( (rounds + 9) / 10 ))
r=1
while [ $r -le $e2e ]; do
  for peer in built baseline; do
    bin="$top/$B/faultline"
    [ "$peer" = baseline ] && bin=$FL_BENCH_BASELINE
    rm -f "$work/journal.jsonl"
    out="$work/out-$peer-$r"
    (cd "$work" && FAULTLINE_JOURNAL="$work/journal.jsonl" "$bin" run p.yaml -o "$out" --quiet >"$work/log.txt" 2>&1) ||
      { echo "journal bench: $peer run $r failed:"; tail -5 "$work/log.txt"; exit 1; }
    $PY - "$out/run.json" "$peer" >>"$work/results.txt" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["steps"]:
    st = s.get("inject_started_at_ms")
    print(sys.argv[2], s["name"].split("-")[0], s["injected_at_ms"] - s["at_ms"], "-" if st is None else st - s["at_ms"])
PY
  done
  r=$((r + 1))
done
$PY - "$work/results.txt" "$e2e" "$steps" "$gap" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
kinds = list(dict.fromkeys(r[1] for r in rows))
print("end to end, %s runs of %s steps per kind each, %s ms apart: mean ms from at: until the inject returned"
      " (built: and until its effect began)" % (sys.argv[2], sys.argv[3], sys.argv[4]))
for k in kinds:
    m = {p: statistics.mean(float(r[2]) for r in rows if r[0] == p and r[1] == k) for p in ("built", "baseline")}
    began = statistics.mean(float(r[3]) for r in rows if r[0] == "built" and r[1] == k)
    print("  %-10s built %6.2f (began %5.2f)  baseline %6.2f  (%+.2f ms)" % (k, m["built"], began, m["baseline"],
                                                                         m["built"] - m["baseline"]))
PY
