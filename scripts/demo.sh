#!/bin/sh
# demo.sh -- `make demo`: run plans/demo.yaml against the bundled stack (local processes),
# or `make demo-docker` (plans/demo-docker.yaml) when a Docker engine is reachable.
# Everything lives in a fresh temporary folder that is removed afterwards.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
FL_DEPS_RUNTIME=1 sh scripts/deps.sh || exit 2
plan=plans/demo.yaml
if [ "${1:-}" = docker ]; then
  sh scripts/dockerd-up.sh || { echo "demo: no Docker engine reachable" >&2; exit 2; }
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
