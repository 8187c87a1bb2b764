#!/bin/sh
# docker_bench.sh -- faultline's docker.pause / docker.stop round trips against raw Engine API
# calls (curl --unix-socket, and bare libcurl) and the docker CLI, in one interleaved run.
#   sh tests/bench/docker_bench.sh [rounds]      (make bench runs it; needs build/libfaultline.a)
#   FL_BENCH_QUICK=1: 5 rounds instead of 15
# Starts dockerd through scripts/dockerd-up.sh when none answers; skips (exit 0) without docker.io.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/bench/lib.sh
rounds=$(bench_rounds 15 5 "${1:-}")

# a dockerd started here (none answered) is stopped again by its pid at the end
pidf=$(mktemp /tmp/fl-bench-dockerd-XXXXXX); rm -f "$pidf"
stop_dockerd() {
  [ -s "$pidf" ] || return 0
  p=$(cat "$pidf")
  if ! docker_share_last; then
    echo "docker bench: left the dockerd it started (pid $p) running: another run uses it"
    docker_share_end; rm -f "$pidf"; return 0
  fi
  kill "$p" 2>/dev/null
  i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  rm -f "$pidf"
  docker_share_end
}
. scripts/docker-share.sh
trap stop_dockerd EXIT
trap 'exit 130' INT TERM
docker_share_begin
if ! sh scripts/dockerd-up.sh --pidfile "$pidf" >/tmp/fl-bench-dockerd-up.log 2>&1; then
  echo "docker bench: skipped ($(tail -n 1 /tmp/fl-bench-dockerd-up.log))"
  exit 0
fi
for tool in curl docker; do
  command -v "$tool" >/dev/null 2>&1 || { echo "docker bench: skipped ($tool not installed)"; exit 0; }
done
bench_link docker "$B/docker-bench" tests/bench/docker_bench.c
DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock} "$B/docker-bench" --rounds "$rounds"
