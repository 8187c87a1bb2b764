#!/bin/sh
# proxy_bench.sh -- faultline's TCP proxy (no toxic) against socat, against the leanest
# splice(2) forwarder (tests/bench/splice_floor.c: the floor of any user-space proxy here)
# and against no proxy, in one interleaved run on loopback:
#   latency: wrk -c1 -t1 against a throwaway nginx; p50 added per request, in microseconds
#   throughput: a 200 MB transfer (tests/bench/xfer.c) through each; ratio to direct
# Also faultline with its Toxiproxy API on (`faultline proxy --api`, the proxies made with
# POST /proxies): the API must add nothing to the data path. FL_BENCH_BASE=/path/to/faultline
# adds an older build of faultline as one more peer (before/after a change, same run).
#   sh tests/bench/proxy_bench.sh [rounds] [seconds-per-wrk]   (make bench runs it)
# Every server started here is stopped by its pid.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
B=${FL_BUILD:-build}
rounds=${1:-5}
secs=${2:-3}
bytes=$((200 * 1024 * 1024))

# `make bench` installed them (scripts/deps.sh bench, scripts/packages)
for tool in wrk nginx socat curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "proxy bench: skipped ($tool not installed: make bench installs it as root)"; exit 0; }
done
[ -f "$B/libfaultline.a" ] || { echo "proxy bench: $B/libfaultline.a is missing (run make first)" >&2; exit 1; }

work=$(mktemp -d /tmp/fl-proxy-bench-XXXXXX)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null; done
  for p in $pids; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# the Makefile does not build tests/bench/*.c
cc -O2 -Wall -Wextra -Werror -o "$work/xfer" tests/bench/xfer.c || exit 1
cc -O2 -std=c11 -Wall -Wextra -Werror -pthread -o "$work/splice_floor" tests/bench/splice_floor.c || exit 1
# `faultline proxy`, from the build (or linked here from its objects when the binary lacks it)
FL="$top/$B/faultline"
if ! "$FL" proxy --help 2>/dev/null | grep -q -- --upstream; then
  FL="$work/faultline"
  cc -o "$FL" "$B/obj/orchestrator/main.o" "$B/obj/orchestrator/cmd_proxy.o" "$B/libfaultline.a" \
     $(pkg-config --libs libcurl libpq hiredis yaml-0.1 jansson) -lpthread -lm || exit 1
fi

port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for i in $(seq 1 100); do python3 -c "import socket;socket.create_connection(('127.0.0.1',$1)).close()" 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }

ng=$(port); src=$(port)
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $work/nginx/cb; proxy_temp_path $work/nginx/pt;
  fastcgi_temp_path $work/nginx/ft; uwsgi_temp_path $work/nginx/ut; scgi_temp_path $work/nginx/st;
  server { listen 127.0.0.1:$ng; location / { return 200 "ok\n"; } }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids="$pids $!"
"$work/xfer" serve "$src" "$bytes" &
pids="$pids $!"
wait_port "$ng" && wait_port "$src" || exit 1

# one faultline proxy and one socat in front of each server
fl_ng=$(port); fl_src=$(port); so_ng=$(port); so_src=$(port); sf_ng=$(port); sf_src=$(port)
"$FL" proxy -q --listen 127.0.0.1:$fl_ng --upstream 127.0.0.1:$ng 2>/dev/null & pids="$pids $!"
"$FL" proxy -q --listen 127.0.0.1:$fl_src --upstream 127.0.0.1:$src 2>/dev/null & pids="$pids $!"
socat TCP-LISTEN:$so_ng,bind=127.0.0.1,reuseaddr,fork TCP:127.0.0.1:$ng & pids="$pids $!"
socat TCP-LISTEN:$so_src,bind=127.0.0.1,reuseaddr,fork TCP:127.0.0.1:$src & pids="$pids $!"
"$work/splice_floor" $sf_ng $ng & pids="$pids $!"
"$work/splice_floor" $sf_src $src & pids="$pids $!"
# faultline with the Toxiproxy API on: the two proxies made over HTTP
api=$(port); ap_ng=$(port); ap_src=$(port)
"$FL" proxy --api 127.0.0.1:$api 2>/dev/null & pids="$pids $!"
wait_port "$api" || exit 1
curl -sf -o /dev/null -X POST -d "{\"name\":\"ng\",\"listen\":\"127.0.0.1:$ap_ng\",\"upstream\":\"127.0.0.1:$ng\"}" http://127.0.0.1:$api/proxies || exit 1
curl -sf -o /dev/null -X POST -d "{\"name\":\"src\",\"listen\":\"127.0.0.1:$ap_src\",\"upstream\":\"127.0.0.1:$src\"}" http://127.0.0.1:$api/proxies || exit 1
# an older faultline (FL_BENCH_BASE), else the same one again under the name "base"
BASE=${FL_BENCH_BASE:-$FL}
bs_ng=$(port); bs_src=$(port)
"$BASE" proxy -q --listen 127.0.0.1:$bs_ng --upstream 127.0.0.1:$ng 2>/dev/null & pids="$pids $!"
"$BASE" proxy -q --listen 127.0.0.1:$bs_src --upstream 127.0.0.1:$src 2>/dev/null & pids="$pids $!"
for p in $fl_ng $fl_src $so_ng $so_src $sf_ng $sf_src $ap_ng $ap_src $bs_ng $bs_src; do wait_port "$p" || exit 1; done

# wrk's p50 in microseconds
p50_us() {
  wrk -c1 -t1 -d"${secs}s" --latency "http://127.0.0.1:$1/" 2>/dev/null |
    awk '$1=="50%" { v=$2; u=v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                     if (u=="us") print v; else if (u=="ms") print v*1000; else if (u=="s") print v*1000000 }'
}
median() { sort -n | awk '{ a[NR]=$1 } END { if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

echo "proxy bench: $rounds interleaved rounds; wrk -c1 -t1 ${secs}s against nginx; 200 MB transfers"
: >"$work/lat.direct"; : >"$work/lat.fl"; : >"$work/lat.socat"; : >"$work/lat.sf"; : >"$work/lat.api"; : >"$work/lat.base"
: >"$work/tp.direct"; : >"$work/tp.fl"; : >"$work/tp.socat"; : >"$work/tp.sf"; : >"$work/tp.api"; : >"$work/tp.base"
for r in $(seq 1 "$rounds"); do
  d=$(p50_us $ng); f=$(p50_us $fl_ng); s=$(p50_us $so_ng); sf=$(p50_us $sf_ng)
  echo "$d" >>"$work/lat.direct"; echo "$f" >>"$work/lat.fl"; echo "$s" >>"$work/lat.socat"; echo "$sf" >>"$work/lat.sf"
  td=$("$work/xfer" get $src | awk '{print $3}')
  tf=$("$work/xfer" get $fl_src | awk '{print $3}')
  ts=$("$work/xfer" get $so_src | awk '{print $3}')
  tsf=$("$work/xfer" get $sf_src | awk '{print $3}')
  echo "$td" >>"$work/tp.direct"; echo "$tf" >>"$work/tp.fl"; echo "$ts" >>"$work/tp.socat"; echo "$tsf" >>"$work/tp.sf"
  a=$(p50_us $ap_ng); b=$(p50_us $bs_ng)
  echo "$a" >>"$work/lat.api"; echo "$b" >>"$work/lat.base"
  ta=$("$work/xfer" get $ap_src | awk '{print $3}')
  tb=$("$work/xfer" get $bs_src | awk '{print $3}')
  echo "$ta" >>"$work/tp.api"; echo "$tb" >>"$work/tp.base"
  printf '  round %d: p50 direct %sus faultline %sus socat %sus splice-floor %sus api %sus base %sus | MB/s direct %s faultline %s socat %s splice-floor %s api %s base %s\n' \
    "$r" "$d" "$f" "$s" "$sf" "$a" "$b" "$td" "$tf" "$ts" "$tsf" "$ta" "$tb"
done

ld=$(median <"$work/lat.direct"); lf=$(median <"$work/lat.fl"); ls_=$(median <"$work/lat.socat"); lsf=$(median <"$work/lat.sf")
td=$(median <"$work/tp.direct"); tf=$(median <"$work/tp.fl"); ts=$(median <"$work/tp.socat"); tsf=$(median <"$work/tp.sf")
la=$(median <"$work/lat.api"); lb=$(median <"$work/lat.base"); ta=$(median <"$work/tp.api"); tb=$(median <"$work/tp.base")
awk -v ld="$ld" -v lf="$lf" -v ls="$ls_" -v lsf="$lsf" -v td="$td" -v tf="$tf" -v ts="$ts" -v tsf="$tsf" \
    -v la="$la" -v lb="$lb" -v ta="$ta" -v tb="$tb" -v bname="${FL_BENCH_BASE:+base ($FL_BENCH_BASE)}" 'BEGIN {
  if (bname == "") bname = "base (the same binary: FL_BENCH_BASE unset)"
  printf "latency p50 (median of rounds): direct %.1f us, faultline %.1f us (+%.1f us), socat %.1f us (+%.1f us), splice-floor %.1f us (+%.1f us)\n", ld, lf, lf-ld, ls, ls-ld, lsf, lsf-ld
  printf "throughput 200 MB (median): direct %.0f MB/s, faultline %.0f MB/s (%.2fx direct), socat %.0f MB/s (%.2fx direct), splice-floor %.0f MB/s (%.2fx direct; faultline %.2fx of it)\n", td, tf, tf/td, ts, ts/td, tsf, tsf/td, tf/tsf
  printf "faultline with --api: p50 %.1f us (%+.1f us vs faultline), %.0f MB/s (%.2fx faultline)\n", la, la-lf, ta, ta/tf
  printf "%s: p50 %.1f us (faultline %+.1f us vs it), %.0f MB/s (faultline %.2fx of it)\n", bname, lb, lf-lb, tb, tf/tb
  printf "goals: added p50 < 30 us: %s; throughput >= 0.9x direct: %s\n", (lf-ld < 30 ? "met" : "NOT met"), (tf/td >= 0.9 ? "met" : "NOT met")
}'
