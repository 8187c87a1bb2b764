#!/bin/sh
# dockerd-up.sh -- make sure a Docker engine answers on /var/run/docker.sock, with `hostbin`.
#   sh scripts/dockerd-up.sh [--pidfile FILE]    exit 0 when an engine answers (started if needed)
# When none answers, starts `dockerd --iptables=false --bridge=none --storage-driver=vfs`
# in the background (log /tmp/fl-dockerd.log), writes its pid to FILE (default
# /tmp/fl-dockerd.pid) and waits up to 30 s for it; the caller stops it by that pid when done
# (tests/run.sh and scripts/demo.sh do, through scripts/docker-share.sh, only when no other
# script still uses it). A daemon that was already running is never touched: one that runs
# (/var/run/docker.pid) but is slow to answer is waited for, never replaced, and two callers
# never start two daemons (they take turns on a lock).
# Then imports an empty image named `hostbin` (tests bind-mount host programs into it) when it
# is missing. Says on stdout, in one line, what it found or did; why not, on stderr.
# The docker CLI is fine here: only faultline itself must talk to the Engine API directly.
set -u
sock=/var/run/docker.sock
log=/tmp/fl-dockerd.log
pidfile=/tmp/fl-dockerd.pid
while [ $# -gt 0 ]; do
  case $1 in
    --pidfile) pidfile=$2; shift 2 ;;
    *) echo "dockerd-up: unknown argument '$1' (--pidfile FILE)" >&2; exit 2 ;;
  esac
done

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  echo "dockerd-up: docker.io is not installed: run make test as root, or apt-get install docker.io" >&2
  exit 1
fi

answers() { timeout 20 docker -H "unix://$sock" version --format '{{.Server.APIVersion}}' >/dev/null 2>&1; }
# the pid of a dockerd that runs (its own pidfile), or nothing
running_dockerd() {
  p=$(cat /var/run/docker.pid 2>/dev/null) || return 0
  [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = dockerd ] && echo "$p"
}

did="already running"
if ! answers; then
  if [ "$(id -u)" != 0 ]; then
    echo "dockerd-up: no engine answers on $sock and starting dockerd needs root: run make test as root" >&2
    exit 1
  fi
  # one caller at a time decides and starts (7>&-: the daemon must not hold this lock)
  if command -v flock >/dev/null 2>&1; then exec 7>>/tmp/faultline-dockerd-start.lock && flock -x 7; fi
fi
if ! answers; then
  # a daemon that runs but is busy is waited for: replacing it would orphan it (its socket
  # removed) and put two daemons on one data root
  live=$(running_dockerd)
  if [ -n "$live" ]; then
    i=0
    while [ $i -lt 60 ] && ! answers && kill -0 "$live" 2>/dev/null; do sleep 1; i=$((i + 1)); done
    if ! answers && kill -0 "$live" 2>/dev/null; then
      echo "dockerd-up: dockerd (pid $live) runs but did not answer on $sock within 60s (log: $log)" >&2
      exit 1
    fi
  fi
fi
if ! answers; then
  # a stale socket from a dead daemon would make dockerd refuse to start
  if [ -S "$sock" ]; then rm -f "$sock"; fi
  # setsid: the daemon gets a session and process group of its own. Started from inside a
  # test (whose process group the harness kills when the test ends) or from a `make test` that
  # is interrupted (Ctrl-C signals the whole foreground group), it would otherwise die with
  # them, taking every other run's containers and swarm along
  setsid nohup dockerd --iptables=false --bridge=none --storage-driver=vfs \
    --host "unix://$sock" >"$log" 2>&1 </dev/null 7>&- 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$pidfile"
  i=0
  while [ $i -lt 300 ]; do
    answers && break
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "dockerd-up: dockerd exited at once: $(tail -n 1 "$log")" >&2
      rm -f "$pidfile"
      exit 1
    fi
    sleep 0.1
    i=$((i + 1))
  done
  if ! answers; then
    echo "dockerd-up: dockerd (pid $pid) did not answer on $sock within 30s (log: $log)" >&2
    exit 1
  fi
  did="started dockerd, pid $pid, log $log"
fi

if ! docker -H "unix://$sock" image inspect hostbin >/dev/null 2>&1; then
  tmp=$(mktemp -d /tmp/fl-hostbin-XXXXXX)
  mkdir "$tmp/empty"
  if ! tar -C "$tmp/empty" -cf "$tmp/e.tar" . || ! docker -H "unix://$sock" import "$tmp/e.tar" hostbin >/dev/null; then
    rm -rf "$tmp"
    echo "dockerd-up: the engine answers ($did) but the empty image 'hostbin' could not be imported" >&2
    exit 1
  fi
  rm -rf "$tmp"
  did="$did; imported the empty image hostbin"
fi
echo "dockerd-up: engine on unix://$sock ($did)"
