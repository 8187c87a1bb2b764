#!/bin/sh
# run.sh -- start throwaway services on loopback, run the test binary, stop what we started.
#   FL_BUILD=build sh tests/run.sh [filter...]
# Services: PostgreSQL (initdb in a temp dir), Redis, and dockerd (when docker.io is
# installed and no daemon answers; see scripts/dockerd-up.sh). Each is stopped by pid.
set -u
B=${FL_BUILD:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
work=$(mktemp -d /tmp/fl-svc-XXXXXX)
pg_pid=""; redis_pid=""
cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null
  if [ -n "$pg_pid" ]; then kill -INT "$pg_pid" 2>/dev/null; sleep 0.5; kill -9 "$pg_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + $$ % 20000)); }

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "${FL_TEST_PG_DSN:-}" ] && [ -n "$pgbin" ]; then
  port=$(free_port)
  # postgres refuses to run as root: use the postgres account when we are root
  run_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
  mkdir -p "$work/pg"; [ "$(id -u)" = 0 ] && chown postgres "$work" "$work/pg"
  if run_pg "'$pgbin/initdb' -D '$work/pg/data' -U postgres -A trust" >"$work/pg-init.log" 2>&1; then
    run_pg "'$pgbin/postgres' -D '$work/pg/data' -p $port -k '$work/pg' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" >"$work/pg.log" 2>&1 &
    for i in $(seq 1 100); do
      "$pgbin/pg_isready" -h 127.0.0.1 -p "$port" >/dev/null 2>&1 && break; sleep 0.1
    done
    pg_pid=$(head -n 1 "$work/pg/data/postmaster.pid" 2>/dev/null)
    export FL_TEST_PG_PORT=$port
    export FL_TEST_PG_DSN="host=127.0.0.1 port=$port dbname=postgres user=postgres"
    export FL_TEST_PG_BIN=$pgbin
    echo "tests: PostgreSQL on 127.0.0.1:$port (pid $pg_pid)"
  else
    echo "tests: initdb failed, PostgreSQL tests will skip"; cat "$work/pg-init.log"
  fi
fi

if [ -z "${FL_TEST_REDIS_PORT:-}" ] && command -v redis-server >/dev/null 2>&1; then
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
  redis_pid=$!
  for i in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export FL_TEST_REDIS_PORT=$port
  echo "tests: Redis on 127.0.0.1:$port (pid $redis_pid)"
fi

if [ -z "${FL_TEST_DOCKER_HOST:-}" ] && [ -x scripts/dockerd-up.sh ]; then
  if sh scripts/dockerd-up.sh >"$work/dockerd-up.log" 2>&1; then
    export FL_TEST_DOCKER_HOST=unix:///var/run/docker.sock
    echo "tests: dockerd at $FL_TEST_DOCKER_HOST"
  else
    echo "tests: no Docker engine, Docker tests will skip ($(tail -n 1 "$work/dockerd-up.log"))"
  fi
fi

export FL_BUILD=$B
export FL_BIN=$top/$B/faultline
"$B/fl-tests" "$@"
