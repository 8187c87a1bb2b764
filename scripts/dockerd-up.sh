#!/bin/sh
# dockerd-up.sh -- make sure a Docker engine answers on /var/run/docker.sock for the tests.
#   sh scripts/dockerd-up.sh        exit 0 when an engine answers (started here if needed)
# When none answers, starts `dockerd --iptables=false --bridge=none --storage-driver=vfs`
# in the background (log: /tmp/fl-dockerd.log, pid: /tmp/fl-dockerd.pid) and waits up to
# 30 s for it. Then imports an empty image named `hostbin` (tests bind-mount host programs
# into it) when it is missing. The docker CLI is fine here: only faultline itself must
# talk to the Engine API directly.
set -u
sock=/var/run/docker.sock
log=/tmp/fl-dockerd.log

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  echo "dockerd-up: docker.io is not installed (apt-get install docker.io)" >&2
  exit 1
fi

answers() { docker -H "unix://$sock" version --format '{{.Server.APIVersion}}' >/dev/null 2>&1; }

if ! answers; then
  if [ "$(id -u)" != 0 ]; then
    echo "dockerd-up: no engine answers on $sock and starting dockerd needs root" >&2
    exit 1
  fi
  # a stale socket from a dead daemon would make dockerd refuse to start
  if [ -S "$sock" ]; then rm -f "$sock"; fi
  nohup dockerd --iptables=false --bridge=none --storage-driver=vfs \
    --host "unix://$sock" >"$log" 2>&1 </dev/null &
  echo $! >/tmp/fl-dockerd.pid
  i=0
  while [ $i -lt 300 ]; do
    answers && break
    if ! kill -0 "$(cat /tmp/fl-dockerd.pid)" 2>/dev/null; then
      echo "dockerd-up: dockerd exited; last lines of $log:" >&2
      tail -n 5 "$log" >&2
      exit 1
    fi
    sleep 0.1
    i=$((i + 1))
  done
  if ! answers; then
    echo "dockerd-up: dockerd did not answer on $sock within 30s (log: $log)" >&2
    exit 1
  fi
  echo "dockerd-up: started dockerd (pid $(cat /tmp/fl-dockerd.pid), log $log)"
fi

if ! docker -H "unix://$sock" image inspect hostbin >/dev/null 2>&1; then
  tmp=$(mktemp -d /tmp/fl-hostbin-XXXXXX)
  mkdir "$tmp/empty"
  if ! tar -C "$tmp/empty" -cf "$tmp/e.tar" . || ! docker -H "unix://$sock" import "$tmp/e.tar" hostbin >/dev/null; then
    rm -rf "$tmp"
    echo "dockerd-up: could not import the empty image 'hostbin'" >&2
    exit 1
  fi
  rm -rf "$tmp"
  echo "dockerd-up: imported the empty image 'hostbin'"
fi
echo "dockerd-up: engine answers on unix://$sock"
