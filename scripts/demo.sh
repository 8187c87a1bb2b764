#!/bin/sh
# demo.sh -- `make demo`: run plans/demo.yaml against the bundled stack (local processes),
# or `make demo-docker` (plans/demo-docker.yaml) when a Docker engine is reachable.
# Everything lives in a fresh temporary folder that is removed afterwards. The packages come
# from scripts/deps.sh (groups demo / docker; the Makefile ran it already, so this is quick).
# `docker`: starts dockerd (scripts/dockerd-up.sh) when none answers, and stops that one again
# by its pid at the end; an engine that was running is left alone.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
plan=plans/demo.yaml
group=demo
[ "${1:-}" = docker ] && group=docker
sh scripts/deps.sh "$group" || { echo "demo: the packages above are missing" >&2; exit 2; }
dockerd_pid=""
stop_dockerd() {
  [ -n "$dockerd_pid" ] || return 0
  if ! docker_share_last; then
    echo "demo: left the dockerd it started (pid $dockerd_pid) running: another run uses it"
    docker_share_end; dockerd_pid=""; return 0
  fi
  kill "$dockerd_pid" 2>/dev/null
  i=0
  while kill -0 "$dockerd_pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  kill -9 "$dockerd_pid" 2>/dev/null
  echo "demo: stopped the dockerd it started (pid $dockerd_pid)"
  docker_share_end
  dockerd_pid=""
}
. scripts/docker-share.sh
trap stop_dockerd EXIT
trap 'exit 130' INT TERM
if [ "$group" = docker ]; then
  pidf=$(mktemp /tmp/fl-demo-dockerd-XXXXXX)
  rm -f "$pidf"
  docker_share_begin
  sh scripts/dockerd-up.sh --pidfile "$pidf" || { rm -f "$pidf"; echo "demo: no Docker engine reachable" >&2; exit 2; }
  [ -s "$pidf" ] && dockerd_pid=$(cat "$pidf")
  rm -f "$pidf"
  plan=plans/demo-docker.yaml
  shift
fi
export FL_DEMO_BIN=${FL_DEMO_BIN:-./${FL_BUILD:-build}/scheduler-api}
export FL_DEMO_DIR=$(mktemp -d /tmp/faultline-demo-XXXXXX)
export FAULTLINE_JOURNAL=${FAULTLINE_JOURNAL:-$top/.faultline/demo-journal.jsonl}
stamp=$(date +%Y%m%d-%H%M%S)
out=${FL_DEMO_REPORT:-faultline-runs/demo-$stamp}
echo "demo: running $plan (report in $out)"
if [ "$plan" = plans/demo-docker.yaml ]; then
  # the stack in containers (compose labels, project faultline-demo); the database link
  # goes through the plan's proxy so its latency fault reaches the service
  export REDIS_PASSWORD=${REDIS_PASSWORD:-demo-redis-password}
  link=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  FL_BUILD=${FL_BUILD:-build} sh examples/stack.sh up "$FL_DEMO_DIR" faultline-demo --db-via "$link" || { rm -rf "$FL_DEMO_DIR"; exit 2; }
  . "$FL_DEMO_DIR/stack.env"
  "./${FL_BUILD:-build}/faultline" run "$plan" -o "$out" --var api_port="$API_PORT" --var pg_port="$PG_PORT" \
    --var pg_link_port="$link" --var redis_port="$REDIS_PORT" "$@"
  rc=$?
  sh examples/stack.sh down faultline-demo
else
  "./${FL_BUILD:-build}/faultline" run "$plan" -o "$out" "$@"
  rc=$?
fi
rm -rf "$FL_DEMO_DIR"
echo
echo "demo: exit code $rc; report: $out/ (run.json, junit.xml, summary.md, report.html)"
exit $rc
