#!/bin/sh
# swarm-up.sh -- make the test engine a single-node swarm manager, for the swarm tests.
#   sh scripts/swarm-up.sh        exit 0 when the engine on /var/run/docker.sock manages a swarm
# Runs scripts/dockerd-up.sh first (starts dockerd and imports `hostbin` when needed), then
# `docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377` unless the engine
# already is a manager. A manager still runs plain containers, so the other Docker tests are
# not affected. Prints "swarm-up: initialized ..." when it made the swarm: tests/run.sh then
# undoes it (`docker swarm leave --force`) at its end; a swarm found in place is left alone.
# The join tokens init prints are not shown. The docker CLI is fine here: only faultline itself must talk to the Engine API.
set -u
here=$(cd "$(dirname "$0")" && pwd)
sock=/var/run/docker.sock
sh "$here/dockerd-up.sh" >/dev/null || exit 1

state() { docker -H "unix://$sock" info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null; }

case "$(state)" in
  "active true") echo "swarm-up: the engine already manages a swarm"; exit 0 ;;
  "active false") echo "swarm-up: the engine is a swarm worker, not a manager: services cannot be created here" >&2; exit 1 ;;
esac
out=$(docker -H "unix://$sock" swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
  # two test runs may race to init: the loser finds a manager
  case "$(state)" in "active true") echo "swarm-up: the engine already manages a swarm"; exit 0 ;; esac
  echo "swarm-up: docker swarm init failed: $(printf '%s\n' "$out" | grep -v -i token | tail -n 3)" >&2
  exit 1
fi
i=0
while [ $i -lt 100 ]; do
  [ "$(state)" = "active true" ] && { echo "swarm-up: initialized a single-node swarm (advertise 127.0.0.1)"; exit 0; }
  sleep 0.1
  i=$((i + 1))
done
echo "swarm-up: swarm init returned but the engine does not report an active manager" >&2
exit 1
