#!/bin/sh
# run.sh -- `make test`: start what the tests need, run the test binary, stop what it started.
#   FL_BUILD=build sh tests/run.sh [filter...]     (the Makefile installed the packages first:
#                                                  scripts/deps.sh build test)
# Starts, each on loopback and stopped by its pid at the end: a throwaway PostgreSQL (initdb in
# a temporary folder) and Redis; dockerd (scripts/dockerd-up.sh, the documented flags) when no
# engine answers, with the `hostbin` image; a single-node swarm (scripts/swarm-up.sh) when the
# engine has none, left again at the end. A daemon or swarm found in place is used, never
# stopped. Says in a few lines what it started and used. The tests start their own
# pushgateway, nginx, Chromium, socat and HTTP servers on free ports.
# Environment: FL_REQUIRE_SERVICES=1 makes every skip a failure; unset, it is 1 when running as
#   root with every test package present (scripts/deps.sh --dry-run test), since a skip there is
#   a defect; FL_REQUIRE_SERVICES=0 allows skips. FL_TEST_JOBS=N runs N tests at once (see
#   tests/harness.h); FL_TEST_PG_DSN/FL_TEST_REDIS_PORT/FL_TEST_DOCKER_HOST given: used as they are.
set -u
B=${FL_BUILD:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
work=$(mktemp -d /tmp/fl-svc-XXXXXX)
pg_pid=""; redis_pid=""; dockerd_pid=""; swarm_made=""
started=""; used=""
add_started() { started="${started:+$started; }$*"; }
add_used() { used="${used:+$used; }$*"; }
waitgone() { # pid seconds: wait until the process is gone
  i=0
  while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
  ! kill -0 "$1" 2>/dev/null
}
cleanup() { # quiet: the tally stays the last line; only trouble is said
  # the engine and swarm this run started are stopped only when no other run still uses them
  if [ -n "$swarm_made$dockerd_pid" ] && ! docker_share_last; then
    echo "tests: left the Docker engine${dockerd_pid:+ (pid $dockerd_pid)} and swarm they started running: another run uses them"
    swarm_made=""; dockerd_pid=""
  fi
  if [ -n "$swarm_made" ]; then
    docker -H unix:///var/run/docker.sock swarm leave --force >/dev/null 2>&1 ||
      echo "tests: could not leave the swarm they made (docker swarm leave --force)"
  fi
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null
    waitgone "$dockerd_pid" 30 || { kill -9 "$dockerd_pid" 2>/dev/null; echo "tests: dockerd (pid $dockerd_pid) did not stop within 30 s: killed"; }
  fi
  docker_share_end
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null
  if [ -n "$pg_pid" ]; then
    kill -INT "$pg_pid" 2>/dev/null
    waitgone "$pg_pid" 5 || kill -9 "$pg_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
. scripts/docker-share.sh
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + $$ % 20000)); }
root_hint="run make test as root, or apt-get install"

# ---- PostgreSQL: initdb in a temporary folder, postgres on a free port -------------------
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -n "${FL_TEST_PG_DSN:-}" ]; then
  add_used "PostgreSQL given ($FL_TEST_PG_DSN)"
elif [ -z "$pgbin" ]; then
  export FL_TEST_PG_WHY="postgresql is not installed: $root_hint postgresql"
else
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
    if [ -n "$pg_pid" ] && "$pgbin/pg_isready" -h 127.0.0.1 -p "$port" >/dev/null 2>&1; then
      export FL_TEST_PG_PORT=$port
      export FL_TEST_PG_DSN="host=127.0.0.1 port=$port dbname=postgres user=postgres"
      export FL_TEST_PG_BIN=$pgbin
      add_started "PostgreSQL 127.0.0.1:$port (pid $pg_pid)"
    else
      export FL_TEST_PG_WHY="postgres did not answer on 127.0.0.1:$port: $(tail -n 1 "$work/pg.log")"
    fi
  else
    export FL_TEST_PG_WHY="initdb failed: $(tail -n 1 "$work/pg-init.log")"
  fi
fi

# ---- Redis -----------------------------------------------------------------------------
if [ -n "${FL_TEST_REDIS_PORT:-}" ]; then
  add_used "Redis given (port $FL_TEST_REDIS_PORT)"
elif ! command -v redis-server >/dev/null 2>&1; then
  export FL_TEST_REDIS_WHY="redis-server is not installed: $root_hint redis-server"
else
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
  redis_pid=$!
  for i in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  if redis-cli -p "$port" ping >/dev/null 2>&1; then
    export FL_TEST_REDIS_PORT=$port
    add_started "Redis 127.0.0.1:$port (pid $redis_pid)"
  else
    export FL_TEST_REDIS_WHY="redis-server did not answer on 127.0.0.1:$port: $(tail -n 1 "$work/redis.log")"
  fi
fi

# ---- Docker: the engine (started when none answers), `hostbin`, a single-node swarm ------
if [ -n "${FL_TEST_DOCKER_HOST:-}" ]; then
  add_used "Docker engine given ($FL_TEST_DOCKER_HOST)"
elif docker_share_begin && sh scripts/dockerd-up.sh --pidfile "$work/dockerd.pid" >"$work/dockerd-up.out" 2>"$work/dockerd-up.err"; then
  export FL_TEST_DOCKER_HOST=unix:///var/run/docker.sock
  [ -s "$work/dockerd.pid" ] && dockerd_pid=$(cat "$work/dockerd.pid")
  img=""; grep -q 'imported the empty image' "$work/dockerd-up.out" && img=", imported image hostbin"
  if [ -n "$dockerd_pid" ]; then add_started "dockerd (pid $dockerd_pid, log /tmp/fl-dockerd.log$img)"
  else add_used "the Docker engine on $FL_TEST_DOCKER_HOST$img"; fi
  if sh scripts/swarm-up.sh >"$work/swarm-up.out" 2>&1; then
    if grep -q initialized "$work/swarm-up.out"; then swarm_made=1; add_started "a single-node swarm"
    else add_used "its swarm (already a manager)"; fi
  else
    # the swarm tests run swarm-up.sh themselves and fail with its words
    echo "tests: $(tail -n 1 "$work/swarm-up.out")"
  fi
else
  [ -s "$work/dockerd.pid" ] && dockerd_pid=$(cat "$work/dockerd.pid")
  export FL_TEST_DOCKER_WHY="$(tail -n 1 "$work/dockerd-up.err" | sed 's/^dockerd-up: //')"
fi

# ---- a skip is a failure where nothing can excuse it --------------------------------------
if [ -z "${FL_REQUIRE_SERVICES:-}" ]; then
  if [ "$(id -u)" = 0 ] && sh scripts/deps.sh --dry-run test >/dev/null 2>&1; then
    export FL_REQUIRE_SERVICES=1
    req="FL_REQUIRE_SERVICES=1 (root, every test package installed): a skip fails"
  else
    export FL_REQUIRE_SERVICES=0
    req="skips allowed ($( [ "$(id -u)" = 0 ] && echo "test packages missing" || echo "not root"))"
  fi
else
  req="FL_REQUIRE_SERVICES=$FL_REQUIRE_SERVICES (given)"
fi

[ -n "$started" ] && echo "tests: started $started"
[ -n "$used" ] && echo "tests: using $used"
for v in FL_TEST_PG_WHY FL_TEST_REDIS_WHY FL_TEST_DOCKER_WHY; do
  eval "w=\${$v:-}"
  [ -n "$w" ] && echo "tests: not available: $w"
done
echo "tests: $req; ${FL_TEST_JOBS:-1} at a time"

export FL_BUILD=$B
export FL_BIN=$top/$B/faultline
"$B/fl-tests" "$@" 9>&-
