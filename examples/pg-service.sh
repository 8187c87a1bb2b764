#!/bin/sh
# pg-service.sh -- a throwaway PostgreSQL for demos: initdb in DIR (once), then exec the
# postmaster in the foreground so faultline manages it by pid (no fork in between: as root
# it switches to the postgres account with setpriv, which execs).
#   sh examples/pg-service.sh DIR PORT
set -e
dir=$1
port=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "pg-service: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
as=""
mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
  chmod 755 "$(dirname "$dir")" "$dir"
  as="setpriv --reuid=postgres --regid=postgres --init-groups"
fi
if [ ! -f "$dir/data/PG_VERSION" ]; then
  $as "$bin/initdb" -D "$dir/data" -U postgres -A trust >"$dir/initdb.log" 2>&1
fi
exec $as "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
  -c fsync=off -c max_connections=100
