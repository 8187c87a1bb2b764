#!/bin/sh
# stack.sh -- the demo scheduler as a docker-compose-like stack, for the residency-scheduler
# plans: containers from the empty `hostbin` image (scripts/dockerd-up.sh) run the host's
# PostgreSQL, redis-server, nginx and build/scheduler-api through read-only bind mounts and
# --network host, and carry the labels docker compose sets (com.docker.compose.project,
# .service, .container-number), so the plans select them exactly as on the users' stack.
#
#   sh examples/stack.sh up DIR PROJECT [options]   -> DIR/stack.env (ports)
#       --backends N      backend containers (default 1); N > 1 adds an nginx `lb` in front
#       --db-via PORT     backends and worker reach PostgreSQL through 127.0.0.1:PORT (a
#                         faultline proxy the plan opens) instead of directly
#       --job-delay D     the worker's pretend computing time per job (default 0)
#       --defect NAME     plant a defect in the backends (scheduler-api serve --defect)
#       --schema uuid     uuid ids, as the real service's models (scheduler-api --schema)
#       --users-services  the services of the users' compose file (tests/fixtures/compose/
#                         residency.yml) instead of the short demo set: the proxy in front is
#                         named `nginx` (always started; /api/ and /health to the backends, the
#                         rest to the frontend), a `frontend` (a static HTTP server), a
#                         `celery-beat` (a second worker process), and db and redis carry the
#                         healthchecks their compose file gives them -> FRONTEND_PORT in stack.env
#   sh examples/stack.sh down PROJECT               -> removes its containers
#
# Passwords come from the environment the plans read: REDIS_PASSWORD (Redis requirepass),
# ADMIN_PASSWORD / FACULTY_PASSWORD / RESIDENT_PASSWORD (the service's users). PostgreSQL
# trusts loopback, so DB_PASSWORD is accepted whatever it is. The docker CLI is fine here:
# only faultline itself must talk to the Engine API directly.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${FL_BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

down() {
  ids=$(docker ps -aq --filter "label=com.docker.compose.project=$1" --filter label=faultline.test=residency)
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
}

if [ "${1:-}" = down ]; then down "$2"; exit 0; fi
[ "${1:-}" = up ] || { echo "usage: stack.sh up DIR PROJECT [--backends N] [--db-via PORT] | down PROJECT" >&2; exit 2; }
dir=$2; project=$3; shift 3
backends=1; db_via=""; job_delay=0; defect=none; schema=text; users=0
while [ $# -gt 0 ]; do
  case $1 in
    --backends) backends=$2; shift 2 ;;
    --db-via) db_via=$2; shift 2 ;;
    --job-delay) job_delay=$2; shift 2 ;;
    --defect) defect=$2; shift 2 ;;
    --schema) schema=$2; shift 2 ;;
    --users-services) users=1; shift ;;
    *) echo "stack.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
: "${REDIS_PASSWORD:?REDIS_PASSWORD must be set}"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
down "$project"

# run NAME SERVICE NUMBER [docker run options] -- COMMAND...
run() {
  name=$1 svc=$2 num=$3; shift 3
  opts=""
  while [ "$1" != -- ]; do opts="$opts $1"; shift; done
  shift
  # shellcheck disable=SC2086
  docker run -d --name "$name" --network host \
    --label "com.docker.compose.project=$project" --label "com.docker.compose.service=$svc" \
    --label "com.docker.compose.container-number=$num" --label faultline.test=residency \
    -v /usr:/usr:ro -v /lib:/lib:ro -v /lib64:/lib64:ro -v /bin:/bin:ro -v /etc:/etc:ro \
    -v "$B:$B:ro" -v "$dir:$dir:rw" $opts hostbin "$@" >/dev/null
}

pg_port=$(free_port); redis_port=$(free_port); api_port=$(free_port)

# db: PostgreSQL as the postgres account (numeric: the image has no passwd of its own);
# SIGINT on stop, as the official image does (a fast shutdown, not a wait for clients)
mkdir -p "$dir/pg"
chown postgres "$dir/pg"; chmod 755 "$dir" "$dir/pg"
setpriv --reuid=postgres --regid=postgres --init-groups "$pgbin/initdb" -D "$dir/pg/data" -U postgres -A trust \
  >"$dir/initdb.log" 2>&1
db_health=""; redis_health=""
if [ $users -eq 1 ]; then
  # their healthchecks (pg_isready, redis-cli ping), each a script in DIR: docker runs it with
  # /bin/sh -c, and the option list below is split on blanks; redis-cli reads REDISCLI_AUTH
  printf '#!/bin/sh\nexec %s/pg_isready -q -h 127.0.0.1 -p %s\n' "$pgbin" "$pg_port" >"$dir/health-db.sh"
  printf '#!/bin/sh\nredis-cli -h 127.0.0.1 -p %s ping | grep -q PONG\n' "$redis_port" >"$dir/health-redis.sh"
  chmod 755 "$dir/health-db.sh" "$dir/health-redis.sh"
  hc="--health-interval 1s --health-timeout 3s --health-retries 3"
  db_health="--health-cmd $dir/health-db.sh $hc"
  redis_health="--health-cmd $dir/health-redis.sh $hc -e REDISCLI_AUTH=$REDIS_PASSWORD"
fi
# shellcheck disable=SC2086
run "$project-db-1" db 1 $db_health --user "$(id -u postgres):$(id -g postgres)" --stop-signal SIGINT -- \
  "$pgbin/postgres" -D "$dir/pg/data" -p "$pg_port" -k "$dir/pg" -c listen_addresses=127.0.0.1 -c fsync=off \
  -c max_connections=200
i=0
until "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pg_port"; do
  i=$((i + 1)); [ $i -lt 300 ] || { echo "stack.sh: db did not start" >&2; docker logs "$project-db-1" >&2; exit 1; }
  sleep 0.1
done
psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -c "CREATE ROLE scheduler LOGIN" -c "CREATE DATABASE residency_scheduler OWNER scheduler" >/dev/null
dsn_direct="host=127.0.0.1 port=$pg_port dbname=residency_scheduler user=scheduler"
"$B/scheduler-api" init-db --pg "$dsn_direct" --schema "$schema" >"$dir/init-db.log" 2>&1
dsn=$dsn_direct
[ -z "$db_via" ] || dsn="host=127.0.0.1 port=$db_via dbname=residency_scheduler user=scheduler"

# redis with a password, like theirs
# shellcheck disable=SC2086
run "$project-redis-1" redis 1 $redis_health -- redis-server --port "$redis_port" --bind 127.0.0.1 --requirepass "$REDIS_PASSWORD" \
  --save "" --appendonly no --dir "$dir"

# backends (one key signs every token, so a load balancer may send a user anywhere)
key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
envs="-e SCHEDULER_SECRET_KEY=$key -e SCHEDULER_REDIS_PASSWORD=$REDIS_PASSWORD"
for v in ADMIN FACULTY RESIDENT; do
  eval "pw=\${${v}_PASSWORD:-}"
  [ -z "$pw" ] || envs="$envs -e SCHEDULER_${v}_PASSWORD=$pw"
done
ports=""
n=1
while [ $n -le "$backends" ]; do
  p=$api_port
  [ "$backends" -eq 1 ] && [ $users -eq 0 ] || p=$(free_port)
  ports="$ports $p"
  # shellcheck disable=SC2086
  run "$project-backend-$n" backend $n $envs -- "$B/scheduler-api" serve --port "$p" --pg "$dsn" \
    --redis "127.0.0.1:$redis_port" --defect "$defect" --schema "$schema"
  n=$((n + 1))
done
# shellcheck disable=SC2086
run "$project-celery-worker-1" celery-worker 1 $envs -- "$B/scheduler-api" worker --pg "$dsn" \
  --redis "127.0.0.1:$redis_port" --job-delay "$job_delay" --schema "$schema"

lb_svc=lb; api_loc=/; fe_port=""
if [ $users -eq 1 ]; then
  # celery-beat: a second worker process, as theirs runs the same image; the frontend: static
  # files over HTTP; the proxy in front is their nginx, started whatever the backend count
  # shellcheck disable=SC2086
  run "$project-celery-beat-1" celery-beat 1 $envs -- "$B/scheduler-api" worker --pg "$dsn" \
    --redis "127.0.0.1:$redis_port" --job-delay "$job_delay" --schema "$schema"
  fe_port=$(free_port)
  mkdir -p "$dir/frontend"
  echo '<!doctype html><title>Residency Scheduler</title><p>demo frontend' >"$dir/frontend/index.html"
  run "$project-frontend-1" frontend 1 -- /usr/bin/python3 -m http.server "$fe_port" --bind 127.0.0.1 \
    --directory "$dir/frontend"
  lb_svc=nginx; api_loc=/api/
fi

if [ "$backends" -gt 1 ] || [ $users -eq 1 ]; then
  mkdir -p "$dir/nginx"
  {
    echo "worker_processes 1; pid $dir/nginx/nginx.pid; error_log stderr warn;"
    echo "events { worker_connections 1024; }"
    echo "http { access_log off;"
    echo "  client_body_temp_path $dir/nginx/body; proxy_temp_path $dir/nginx/proxy;"
    echo "  fastcgi_temp_path $dir/nginx/fcgi; uwsgi_temp_path $dir/nginx/uwsgi; scgi_temp_path $dir/nginx/scgi;"
    echo "  upstream backend {"
    for p in $ports; do echo "    server 127.0.0.1:$p max_fails=1 fail_timeout=2s;"; done
    echo "    keepalive 32; }"
    echo "  server { listen 127.0.0.1:$api_port;"
    [ -z "$fe_port" ] || echo "    location / { proxy_pass http://127.0.0.1:$fe_port; proxy_connect_timeout 1s; }"
    for loc in $api_loc $( [ -n "$fe_port" ] && echo /health ); do
      echo "    location $loc { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\";"
      echo "      proxy_connect_timeout 1s; proxy_next_upstream error timeout http_502 http_503 non_idempotent;"
      echo "      proxy_next_upstream_tries 3; }"
    done
    echo "  } }"
  } >"$dir/nginx/nginx.conf"
  run "$project-$lb_svc-1" "$lb_svc" 1 -- /usr/sbin/nginx -c "$dir/nginx/nginx.conf" -g "daemon off;"
fi

# ready: every backend answers /api/v1/health/ready (through the proxy port only once a
# plan opens it, so then only /health)
path=/api/v1/health/ready
[ -z "$db_via" ] || path=/health
for p in $ports $( { [ "$backends" -gt 1 ] || [ $users -eq 1 ]; } && echo "$api_port" ); do
  i=0
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p$path")" = 200 ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || { echo "stack.sh: 127.0.0.1:$p$path never answered 200" >&2; docker ps -a --filter "label=com.docker.compose.project=$project" >&2; exit 1; }
    sleep 0.1
  done
done

if [ $users -eq 1 ]; then
  i=0
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api_port/")" = 200 ] &&
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$project-db-1")" = healthy ] &&
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$project-redis-1")" = healthy ]; do
    i=$((i + 1))
    [ $i -lt 300 ] || { echo "stack.sh: the frontend behind nginx, or db's or redis's healthcheck, never came good" >&2; docker ps -a --filter "label=com.docker.compose.project=$project" >&2; exit 1; }
    sleep 0.1
  done
fi

cat >"$dir/stack.env" <<EOF
PG_PORT=$pg_port
REDIS_PORT=$redis_port
API_PORT=$api_port
BACKEND_PORTS="$ports"
FRONTEND_PORT=$fe_port
EOF
echo "stack.sh: $project up (db :$pg_port, redis :$redis_port, api :$api_port${db_via:+, db via :$db_via})"
