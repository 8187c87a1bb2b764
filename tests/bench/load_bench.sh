#!/bin/sh
# load_bench.sh -- the load engine against wrk, h2load --h1, ab -k and hey on one nginx on
# loopback, same connection count, interleaved runs in one invocation (the machine is
# noisy); then peak RSS at 200 virtual users.
#   sh tests/bench/load_bench.sh          (make bench runs it; FL_BENCH_QUICK=1 for a short run)
# Env: FL_BENCH_QUICK=1 (3 rounds of 3 s, RSS run 10 s), FL_BENCH_ROUNDS, FL_BENCH_SECONDS,
#      FL_BENCH_CONNS (default 50), FL_BENCH_RSS_SECONDS (default 60).
# Prints medians per tool: req/s, p99 (ms), CPU microseconds per request; and the ratios
# faultline/wrk. faultline runs through tests/bench/load_driver.c (the engine in-process,
# closed model, N users without think time), as "fl" with the default event loop
# (curl_multi_poll) and as "fl-epoll" with FL_LG_LOOP=epoll (socket_action over epoll);
# "curl-floor" is tests/bench/curl_floor.c, the leanest libcurl multi loop: what libcurl
# itself costs per request, so the gap between fl and the other peers can be read apart.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
B=${FL_BUILD:-build}
QUICK=${FL_BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then ROUNDS=${FL_BENCH_ROUNDS:-3}; SECS=${FL_BENCH_SECONDS:-3}; RSS_SECS=${FL_BENCH_RSS_SECONDS:-10}
else ROUNDS=${FL_BENCH_ROUNDS:-5}; SECS=${FL_BENCH_SECONDS:-8}; RSS_SECS=${FL_BENCH_RSS_SECONDS:-60}; fi
CONNS=${FL_BENCH_CONNS:-50}

work=$(mktemp -d /tmp/fl-load-bench-XXXXXX)
nginx_pid=""
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

note() { echo "load-bench: $*"; }

# ---- tools -----------------------------------------------------------------------------
# `make bench` installed them (scripts/deps.sh bench, scripts/packages); a peer that is still
# missing is skipped and named
want_pkg() { # command package
  command -v "$1" >/dev/null 2>&1
}
want_pkg nginx nginx-light || { note "nginx not available (apt package nginx-light): skipped"; exit 0; }
NGINX=$(command -v nginx)
peers=""
want_pkg wrk wrk && peers="$peers wrk wrk-t2" || note "wrk not available (apt package wrk): skipped"
want_pkg h2load nghttp2-client && peers="$peers h2load" || note "h2load not available (apt package nghttp2-client): skipped"
want_pkg ab apache2-utils && peers="$peers ab" || note "ab not available (apt package apache2-utils): skipped"
want_pkg hey hey && peers="$peers hey" || note "hey not available (apt package hey): skipped"

. tests/bench/lib.sh
CFLAGS_B="-O2 -std=c11 -D_GNU_SOURCE $FL_INC"
PKGS="libcurl libpq hiredis yaml-0.1 jansson"
[ -f "$B/libfaultline.a" ] || { note "$B/libfaultline.a missing: run make first"; exit 1; }
cc $CFLAGS_B -o "$work/rusage" tests/bench/rusage.c || exit 1
# the leanest libcurl multi loop (tests/bench/curl_floor.c): the floor under any libcurl engine
cc -O2 -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags libcurl) -o "$work/curl_floor" tests/bench/curl_floor.c \
   $(pkg-config --libs libcurl) || exit 1
# shellcheck disable=SC2046
cc $CFLAGS_B $(pkg-config --cflags $PKGS) -o "$work/load_driver" tests/bench/load_driver.c "$B/libfaultline.a" \
   $(pkg-config --libs $PKGS) -lpthread -lm || exit 1

# ---- nginx on a free loopback port, its own config -----------------------------------
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
       echo $((30000 + $$ % 20000)))
mkdir -p "$work/www" "$work/logs"
chmod 755 "$work" "$work/www"   # nginx workers run as another user
i=0; while [ $i -lt 12 ]; do printf 'faultline load bench static page, a few hundred bytes of text.\n'; i=$((i+1)); done > "$work/www/index.html"
cat > "$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server { listen 127.0.0.1:$port; root $work/www; }
}
EOF
"$NGINX" -c "$work/nginx.conf" -p "$work" >"$work/nginx.out" 2>&1 &
nginx_pid=$!
i=0
while [ $i -lt 50 ]; do
  curl -s -o /dev/null "http://127.0.0.1:$port/index.html" 2>/dev/null && break
  sleep 0.1; i=$((i+1))
done
kill -0 "$nginx_pid" 2>/dev/null || { note "nginx did not start: $(tail -n 2 "$work/nginx.out")"; nginx_pid=""; exit 1; }
URL="http://127.0.0.1:$port/index.html"
note "nginx (1 worker, pid $nginx_pid) on $URL; $CONNS connections, $ROUNDS rounds of $SECS s, tools: fl fl-epoll curl-floor$peers"

# ---- one run of each tool: prints "rps p99_ms cpu_us_per_req" ---------------------------
res="$work/results"; : > "$res"
ms_of() { # "12.3ms" / "1.2s" / "800us" -> ms
  echo "$1" | awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); print v/1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v); print v+0 } else if (v ~ /s$/) { sub(/s$/,"",v); print v*1000 } else print v }'
}
cpu_of() { sed -n 's/^@rusage cpu_us=\([0-9]*\).*/\1/p' "$1"; }

run_tool() { # tool -> appends "tool rps p99 cpu_per_req" to $res
  out="$work/out.$1"
  case $1 in
    fl-epoll|fl)
      loop=epoll; [ "$1" = fl ] && loop=poll
      FL_LG_LOOP=$loop "$work/rusage" "$work/load_driver" "$URL" "$CONNS" "$SECS" >"$out" 2>&1
      n=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' "$out"); rps=$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' "$out")
      p99=$(sed -n 's/.* p99=\([0-9.]*\).*/\1/p' "$out")
      errs=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' "$out")
      [ "${errs:-0}" = 0 ] || note "$1: $errs errors" ;;
    curl-floor)
      "$work/rusage" "$work/curl_floor" "$URL" "$CONNS" "$SECS" >"$out" 2>&1
      n=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' "$out"); rps=$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' "$out")
      p99="-" ;;
    wrk|wrk-t2)
      thr=1; [ "$1" = wrk-t2 ] && thr=2
      "$work/rusage" wrk -t$thr -c"$CONNS" -d"${SECS}s" --latency "$URL" >"$out" 2>&1
      n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$out"); rps=$(awk '/^Requests\/sec/ {print $2}' "$out")
      p99=$(ms_of "$(awk '$1 == "99%" {print $2}' "$out")") ;;
    h2load)
      "$work/rusage" h2load --h1 -t1 -c"$CONNS" -D "$SECS" "$URL" >"$out" 2>&1
      n=$(awk '/^requests:/ { for (i = 2; i <= NF; i++) if ($i ~ /^succeeded/) print $(i-1) }' "$out"); rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$out")
      p99="-" ;;
    ab)
      "$work/rusage" ab -k -q -c "$CONNS" -t "$SECS" -n 100000000 "$URL" >"$out" 2>&1
      n=$(awk '/^Complete requests:/ {print $3}' "$out"); rps=$(awk '/^Requests per second:/ {print $4}' "$out")
      p99=$(awk '$1 == "99%" {print $2}' "$out") ;;
    hey)
      "$work/rusage" hey -z "${SECS}s" -c "$CONNS" "$URL" >"$out" 2>&1
      rps=$(awk '/Requests\/sec:/ {print $2}' "$out")
      n=$(awk '/\[200\]/ {print $2}' "$out")
      p99=$(awk '$1 == "99%" && $2 == "in" {print $3 * 1000}' "$out") ;;
  esac
  cpu=$(cpu_of "$out")
  if [ -z "${rps:-}" ] || [ -z "${n:-}" ] || [ "${n:-0}" = 0 ]; then
    note "$1: no result ($(grep -v '^@rusage' "$out" | tail -n 1))"; return
  fi
  cpr=$(awk -v c="${cpu:-0}" -v n="$n" 'BEGIN { printf "%.2f", c / n }')
  echo "$1 $rps ${p99:--} $cpr" >> "$res"
  printf '  %-9s %10.0f req/s  p99 %8s ms  %6s us CPU/req\n' "$1" "$rps" "${p99:--}" "$cpr"
}

# the order inside a round: faultline, wrk, faultline (epoll loop), then the other peers.
# wrk runs with one thread (-t1) like the engine's one thread; wrk-t2 (its default of two
# threads) is shown for reference: on a busy 2-core machine a second thread buys CPU share.
order="fl"
case " $peers " in *" wrk "*) order="$order wrk" ;; esac
order="$order fl-epoll curl-floor"
for t in $peers; do [ "$t" = wrk ] || order="$order $t"; done
r=1
while [ "$r" -le "$ROUNDS" ]; do
  note "round $r"
  for t in $order; do run_tool "$t"; done
  r=$((r+1))
done

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2] + v[NR/2+1]) / 2 }'; }
col() { awk -v t="$1" -v c="$2" '$1 == t && $c != "-" { print $c }' "$res" | median; }

echo
note "medians over $ROUNDS rounds ($CONNS connections, $SECS s each)"
printf '  %-9s %10s %10s %12s\n' tool "req/s" "p99 ms" "CPU us/req"
for t in fl fl-epoll curl-floor $peers; do
  printf '  %-9s %10s %10s %12s\n' "$t" "$(col "$t" 2)" "$(col "$t" 3)" "$(col "$t" 4)"
done
wrk_rps=$(col wrk 2); wrk_p99=$(col wrk 3)
for t in fl fl-epoll; do
  awk -v a="$(col $t 2)" -v b="$wrk_rps" -v p="$(col $t 3)" -v q="$wrk_p99" -v t="$t" 'BEGIN {
    if (b + 0 > 0) printf "  %s / wrk: req/s ratio %.3f", t, a / b;
    if (q + 0 > 0) printf ", p99 %.2f ms vs %.2f ms (ratio %.2f)", p, q, p / q;
    printf "\n" }'
done
awk -v a="$(col fl 2)" -v b="$(col curl-floor 2)" 'BEGIN { if (b + 0 > 0) printf "  fl / curl-floor: req/s ratio %.3f (the leanest libcurl multi loop: the floor of libcurl itself)\n", a / b }'
for t in $peers; do
  [ "$t" = wrk ] && continue
  awk -v a="$(col fl 2)" -v b="$(col $t 2)" -v t="$t" 'BEGIN { if (b + 0 > 0) printf "  fl / %s: req/s ratio %.3f\n", t, a / b }'
done

# ---- memory: 200 virtual users -------------------------------------------------------
echo
note "peak RSS: 200 virtual users for $RSS_SECS s (RSS sampled every 5 s)"
every=5; [ "$RSS_SECS" -lt 10 ] && every=1
"$work/load_driver" "$URL" 200 "$RSS_SECS" "$every" > "$work/rss.out" 2>&1
sed -n 's/.*requests=\([0-9]*\).* rps=\([0-9.]*\).* errors=\([0-9]*\).* maxrss_kib=\([0-9]*\) rss_kib=\(.*\)$/  requests \1 (\2 req\/s, \3 errors); peak RSS \4 KiB; RSS samples (KiB): \5/p' "$work/rss.out"
grep -q maxrss_kib "$work/rss.out" || note "RSS run failed: $(tail -n 1 "$work/rss.out")"
exit 0
