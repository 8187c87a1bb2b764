#!/bin/sh
# multinode.sh -- another Docker engine on this machine, in a network namespace of its own, as a
# worker of the test engine's swarm: the fixture of tests/integration/test_multinode.c
# (tests/multinode.c drives it).
#
#   sh tests/multinode.sh up DIR [--join] [--label KEY=VALUE] [--manager unix:///PATH]
#       DIR (/tmp/fl-mn-*, must not exist) becomes the engine's folder; its name is the engine's
#       hostname, swarm node hostname and network namespace. Prints KEY=VALUE lines: name,
#       host (unix://DIR/docker.sock), addr, netns, veth, dockerd_pid, node_id (with --join).
#   sh tests/multinode.sh down DIR     undo what DIR/state records; idempotent; says what it did
#   sh tests/multinode.sh check DIR    what is left of it (exit 1 when anything is)
#   sh tests/multinode.sh sweep        down every /tmp/fl-mn-* whose owner and keeper are gone
#
# The engine: dockerd with the test engine's flags (--iptables=false --bridge=none
# --storage-driver=vfs) and a root, exec root, socket and pidfile of its own under DIR, in:
#   - a network namespace with a veth pair to this one (10.254.K.1 here, 10.254.K.2 there);
#   - a UTS namespace (its hostname is the folder's name, so the swarm tells the nodes apart);
#   - a mount namespace (slave): what it mounts (netns files, container shm) dies with it.
# Its daemons never hold scripts/docker-share.sh's fds 8 and 9 (the test engine's users: the
# keeper of tests/multinode.c does, until the engine is undone).
# Its containers run in its namespace: `--network host` there is the namespace's stack.
# The image `hostbin` is copied from the test engine (docker save | docker load: same id).
#
# --join makes it a worker of the test engine's swarm. The manager advertises 127.0.0.1:2377
# (scripts/swarm-up.sh), which inside the namespace is the namespace's own loopback, and a
# worker replaces the address it joined with the managers' advertised ones: so a socat in the
# namespace listens on 127.0.0.1:2377 and forwards over the veth to a socat here
# (10.254.K.1:PORT) that reaches the manager's 127.0.0.1:2377 -- the manager may listen on
# loopback only. Nothing else is forwarded: tasks use `--network host` (no overlay, no
# gossip needed). The worker advertises its veth address.
#
# DIR/state is written ahead: each thing is recorded before it is made, so `down` undoes a
# half-made engine too. down: removes the services labelled faultline.test.multinode=NAME,
# leaves the swarm, removes the node (only one with this hostname), removes every container
# of the engine, stops dockerd by pid (SIGTERM, SIGKILL after 30 s), kills by pid what still
# runs in the namespace or under DIR, the socats, removes its cgroups (cgroupfs: its containers'
# are under a parent of its own, --cgroup-parent NAME), deletes the veth and the namespace,
# unmounts what is mounted under DIR and removes DIR. The docker CLI is fine here: only
# faultline itself must talk to the Engine API directly. The join token is never printed.
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

die() { echo "multinode: $*" >&2; exit 1; }
say() { echo "multinode: $*"; }

mgr_default=unix:///var/run/docker.sock

# the docker CLI, bounded: a daemon that hangs never hangs the fixture
dk() { timeout 30 docker "$@"; }

# L= seconds since the previous lap (the first: since t0)
lap() {
  now=$(date +%s.%N)
  L=$(awk "BEGIN { printf \"%.1fs\", $now - ${lap_t:-$t0} }")
  lap_t=$now
}

# is pid $1 alive and does its command line contain $2?
is_ours() {
  [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# is pid $1 a live process? (a zombie is not: init here may be slow to reap what we orphaned)
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# wait up to $2 tenths of a second until pid $1 is gone
gone_within() {
  i=0
  while alive "$1" && [ "$i" -lt "$2" ]; do sleep 0.1; i=$((i + 1)); done
  ! alive "$1"
}

# processes that belong to the engine of DIR $1 / namespace $2: in its network namespace, rooted
# or working under DIR, or naming DIR/ on their command line (never this shell or its parents)
engine_pids() {
  nsino=""
  [ -n "$2" ] && [ -e "/run/netns/$2" ] && nsino=$(stat -L -c %i "/run/netns/$2" 2>/dev/null)
  {
    [ -n "$nsino" ] && find /proc -mindepth 3 -maxdepth 3 -path '/proc/[0-9]*/ns/net' -lname "net:\\[$nsino\\]" 2>/dev/null
    find /proc -mindepth 2 -maxdepth 2 \( -path '/proc/[0-9]*/root' -o -path '/proc/[0-9]*/cwd' \) \
      \( -lname "$1" -o -lname "$1/*" \) 2>/dev/null
    # DIR[/] as a pattern: grep's own command line (it reads its own too) does not match it
    grep -la -- "$(printf '%s' "$1" | sed 's/[.]/[.]/g')[/]" /proc/[0-9]*/cmdline 2>/dev/null
  } | sed -n 's,^/proc/\([0-9][0-9]*\)/.*,\1,p' | sort -un | while read -r pid; do
    case " $$ $skip_pids " in *" $pid "*) continue ;; esac
    echo "$pid"
  done
}

# the cgroup folders named $1 (cgroup v1: one per hierarchy; v2: one)
cgroups_of() {
  for d in /sys/fs/cgroup/"$1" /sys/fs/cgroup/*/"$1"; do
    [ -d "$d" ] && echo "$d"
  done
}

# this shell and its ancestors: never counted, never killed
ancestors() {
  p=$$
  out=""
  while [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != 1 ]; do
    out="$out $p"
    p=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
  done
  echo "$out"
}

# ---- up ----------------------------------------------------------------------------------------
up() {
  dir=$1; shift
  join=""; labels=""; mgr=$mgr_default
  while [ $# -gt 0 ]; do
    case $1 in
      --join) join=1; shift ;;
      --label) labels="$labels $2"; shift 2 ;;
      --manager) mgr=$2; shift 2 ;;
      *) die "up: unknown argument '$1' (--join, --label KEY=VALUE, --manager HOST)" ;;
    esac
  done
  case $dir in /tmp/fl-mn-*) ;; *) die "up: the folder must be /tmp/fl-mn-*, got '$dir'" ;; esac
  [ -e "$dir" ] && die "up: '$dir' exists already"
  [ "$(id -u)" = 0 ] || die "up: network namespaces need root"
  for prog in ip socat nsenter unshare setsid dockerd docker; do
    command -v "$prog" >/dev/null 2>&1 || die "up: '$prog' is not installed"
  done
  name=$(basename "$dir")
  mkdir -p "$dir" || die "up: cannot make '$dir'"
  state=$dir/state
  { echo "owner=${MN_OWNER:-$PPID}"; echo "keeper=${MN_KEEPER:-}"; } >"$state"

  # a /24 of 10.254.0.0/16 nothing here uses (chosen and taken under a lock: two test runs may
  # make engines at once)
  exec 7>>/tmp/fl-mn-net.lock && flock 7
  k=1
  while [ $k -le 250 ]; do
    [ -z "$(ip -o addr show to "10.254.$k.0/24" 2>/dev/null)" ] && ! ip route show | grep -q "^10\.254\.$k\." && break
    k=$((k + 1))
  done
  [ $k -le 250 ] || die "up: no free /24 in 10.254.0.0/16"
  netns=$name veth=flmn$k here=10.254.$k.1 there=10.254.$k.2
  { echo "netns=$netns"; echo "veth=$veth"; echo "addr=$there"; } >>"$state"
  ip netns add "$netns" || die "up: ip netns add $netns failed"
  ip link add "$veth" type veth peer name fl0 netns "$netns" || die "up: cannot make the veth pair $veth"
  ip addr add "$here/24" dev "$veth" && ip link set "$veth" up &&
    ip -n "$netns" link set lo up && ip -n "$netns" addr add "$there/24" dev fl0 &&
    ip -n "$netns" link set fl0 up || die "up: cannot address the veth pair $veth"
  exec 7>&-

  # the engine; with the cgroupfs driver (the test engine's, here) its containers' cgroups go
  # under a parent of its own, so that down removes them and check sees none left
  mkdir -p "$dir/root" "$dir/exec"
  sock=$dir/docker.sock
  cgp=""
  if [ "$(dk -H "$mgr" info --format '{{.CgroupDriver}}' 2>/dev/null)" = cgroupfs ]; then
    cgp=$name
    echo "cgroup=$cgp" >>"$state"
  fi
  setsid nsenter --net="/run/netns/$netns" unshare --uts --mount --propagation slave \
    sh -c 'hostname "$1" && exec dockerd --iptables=false --bridge=none --storage-driver=vfs \
      --host "unix://$2" --data-root "$3/root" --exec-root "$3/exec" --pidfile "$3/docker.pid" \
      ${4:+--cgroup-parent "$4"}' \
    sh "$name" "$sock" "$dir" "$cgp" </dev/null >"$dir/dockerd.log" 2>&1 8>&- 9>&- &
  dpid=$!
  echo "dockerd_pid=$dpid" >>"$state"
  t0=$(date +%s.%N)
  i=0
  until dk -H "unix://$sock" version --format '{{.Server.Version}}' >/dev/null 2>&1; do
    alive "$dpid" || die "up: dockerd exited at once: $(tail -n 2 "$dir/dockerd.log")"
    [ $i -ge 300 ] && die "up: dockerd (pid $dpid) did not answer on $sock within 30 s"
    sleep 0.1; i=$((i + 1))
  done
  t1=$(date +%s.%N)
  [ "$(dk -H "unix://$sock" info --format '{{.Name}}' 2>/dev/null)" = "$name" ] ||
    die "up: the engine does not call itself '$name'"
  dk -H "$mgr" save hostbin | dk -H "unix://$sock" load >/dev/null 2>&1 ||
    die "up: cannot copy the image hostbin from $mgr (sh scripts/dockerd-up.sh imports it)"

  node=""
  if [ -n "$join" ]; then
    maddr=$(dk -H "$mgr" info --format '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}' 2>/dev/null | awk '{ print $1 }')
    case $maddr in
      127.*:*) ;;
      "") die "up: the engine at $mgr manages no swarm (sh scripts/swarm-up.sh)" ;;
      *) die "up: the manager advertises $maddr; this fixture forwards only a manager on loopback (scripts/swarm-up.sh)" ;;
    esac
    mhost=${maddr%:*} mport=${maddr##*:}
    port=$(/usr/bin/python3 -c 'import socket,sys;s=socket.socket();s.bind((sys.argv[1],0));print(s.getsockname()[1])' "$here") ||
      die "up: no free port on $here"
    setsid socat "TCP-LISTEN:$port,bind=$here,reuseaddr,fork" "TCP:$mhost:$mport" </dev/null >"$dir/socat-here.log" 2>&1 8>&- 9>&- &
    echo "socat_here=$!" >>"$state"
    setsid nsenter --net="/run/netns/$netns" socat "TCP-LISTEN:$mport,bind=$mhost,reuseaddr,fork" "TCP:$here:$port" \
      </dev/null >"$dir/socat-there.log" 2>&1 8>&- 9>&- &
    echo "socat_there=$!" >>"$state"
    i=0
    until nsenter --net="/run/netns/$netns" socat -u OPEN:/dev/null "TCP:$mhost:$mport,connect-timeout=1" 2>/dev/null; do
      [ $i -ge 50 ] && die "up: the manager's $maddr cannot be reached from the namespace through the forward"
      sleep 0.1; i=$((i + 1))
    done
    echo "joining=1" >>"$state"
    tokfile=$dir/.token
    (umask 077 && dk -H "$mgr" swarm join-token -q worker >"$tokfile" 2>/dev/null) ||
      die "up: cannot get the worker join token from $mgr"
    out=$(timeout 60 docker -H "unix://$sock" swarm join --token "$(cat "$tokfile")" --advertise-addr "$there" \
      --listen-addr "$there:2377" --data-path-addr "$there" "$maddr" 2>&1)
    rc=$?
    rm -f "$tokfile"
    [ $rc -eq 0 ] || die "up: docker swarm join failed: $(printf '%s\n' "$out" | grep -v -i token | tail -n 2)"
    node=$(dk -H "unix://$sock" info --format '{{.Swarm.NodeID}}' 2>/dev/null)
    [ -n "$node" ] || die "up: joined, but the engine reports no node id"
    echo "node_id=$node" >>"$state"
    i=0
    until [ "$(dk -H "$mgr" node inspect "$node" --format '{{.Status.State}} {{.Spec.Availability}}' 2>/dev/null)" = "ready active" ]; do
      [ $i -ge 300 ] && die "up: the manager does not see node $node ready within 30 s"
      sleep 0.1; i=$((i + 1))
    done
    for l in $labels; do
      dk -H "$mgr" node update --label-add "$l" "$node" >/dev/null || die "up: cannot label node $node with $l"
    done
  fi
  t2=$(date +%s.%N)
  echo "name=$name"
  echo "host=unix://$sock"
  echo "addr=$there"
  echo "netns=$netns"
  echo "veth=$veth"
  echo "dockerd_pid=$dpid"
  echo "node_id=$node"
  echo "answered_s=$(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }")"
  echo "ready_s=$(awk "BEGIN { printf \"%.2f\", $t2 - $t0 }")"
}

# ---- down --------------------------------------------------------------------------------------
down() {
  dir=$1; mgr=${2:-$mgr_default}
  case $dir in /tmp/fl-mn-*) ;; *) die "down: the folder must be /tmp/fl-mn-*, got '$dir'" ;; esac
  state=$dir/state
  if [ ! -f "$state" ]; then
    [ -d "$dir" ] && rm -rf "$dir"
    say "down $(basename "$dir"): nothing recorded"
    return 0
  fi
  netns="" veth="" dockerd_pid="" socat_here="" socat_there="" joining="" node_id="" cgroup=""
  # shellcheck disable=SC1090
  . "$state"
  name=$(basename "$dir")
  sock=$dir/docker.sock
  did=""
  t0=$(date +%s.%N) lap_t=""
  alive=""
  is_ours "$dockerd_pid" "$dir" && alive=1
  if [ -n "$joining" ]; then
    for s in $(dk -H "$mgr" service ls -q --filter "label=faultline.test.multinode=$name" 2>/dev/null); do
      dk -H "$mgr" service rm "$s" >/dev/null 2>&1 && did="$did, removed service $s"
    done
    if [ -n "$alive" ] && [ -S "$sock" ]; then
      timeout 20 docker -H "unix://$sock" swarm leave --force >/dev/null 2>&1 && { lap; did="$did, left the swarm ($L)"; }
    fi
    # the node: the one recorded, or one by this hostname (a join that did not report back)
    ids=$node_id
    [ -z "$ids" ] && ids=$(dk -H "$mgr" node ls --format '{{.ID}} {{.Hostname}}' 2>/dev/null | awk -v n="$name" '$2 == n { print $1 }')
    for id in $ids; do
      h=$(dk -H "$mgr" node inspect "$id" --format '{{.Description.Hostname}}' 2>/dev/null) || continue
      [ "$h" = "$name" ] || continue
      dk -H "$mgr" node rm --force "$id" >/dev/null 2>&1 && { lap; did="$did, removed node $id ($L)"; }
    done
  fi
  if [ -n "$alive" ] && [ -S "$sock" ]; then
    cs=$(timeout 20 docker -H "unix://$sock" ps -aq 2>/dev/null)
    [ -n "$cs" ] && timeout 30 docker -H "unix://$sock" rm -f $cs >/dev/null 2>&1 && { lap; did="$did, removed $(echo $cs | wc -w) container(s) ($L)"; }
  fi
  if [ -n "$alive" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null
    if gone_within "$dockerd_pid" 300; then lap; did="$did, stopped dockerd (pid $dockerd_pid, $L)"
    else kill -KILL "$dockerd_pid" 2>/dev/null; did="$did, killed dockerd (pid $dockerd_pid: no stop within 30 s)"; fi
  fi
  sc=""
  for p in $socat_here $socat_there; do
    is_ours "$p" socat && kill -TERM "$p" 2>/dev/null && gone_within "$p" 30 && sc="$sc $p"
  done
  [ -n "$sc" ] && { lap; did="$did, stopped the forward (socat$sc, $L)"; }
  skip_pids=$(ancestors)
  left=$(engine_pids "$dir" "$netns")
  if [ -n "$left" ]; then
    kill -KILL $left 2>/dev/null
    for p in $left; do gone_within "$p" 30; done
    did="$did, killed what was left: pids $(echo $left)"
  fi
  # its cgroups (empty now: every process of it is gone), the deepest first
  if [ -n "$cgroup" ]; then
    n=0
    for d in $(cgroups_of "$cgroup"); do
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
      [ -d "$d" ] || n=$((n + 1))
    done
    [ $n -gt 0 ] && did="$did, removed its cgroups in $n hierarchies"
  fi
  if [ -n "$veth" ] && ip link show "$veth" >/dev/null 2>&1; then
    ip link del "$veth" 2>/dev/null && did="$did, deleted veth $veth"
  fi
  if [ -n "$netns" ] && [ -e "/run/netns/$netns" ]; then
    ip netns del "$netns" 2>/dev/null && did="$did, deleted netns $netns"
  fi
  i=0
  while [ -n "$veth" ] && ip link show "$veth" >/dev/null 2>&1 && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  lap; did="$did ($L)"
  # a mount under DIR seen from here (the engine mounts in its own namespace: none expected)
  for m in $(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null && did="$did, unmounted $m"
  done
  rm -rf "$dir" 2>/dev/null || { chattr -R -i "$dir" 2>/dev/null; rm -rf "$dir"; }
  say "down $name in $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }")s: ${did#, }${did:+, }removed $dir"
}

# ---- check -------------------------------------------------------------------------------------
check() {
  dir=$1; mgr=${2:-$mgr_default}
  name=$(basename "$dir")
  left=""
  skip_pids=$(ancestors)
  netns=$name
  [ -f "$dir/state" ] && netns=$(sed -n 's/^netns=//p' "$dir/state")
  veth=""
  [ -f "$dir/state" ] && veth=$(sed -n 's/^veth=//p' "$dir/state")
  pids=$(engine_pids "$dir" "$netns")
  [ -n "$pids" ] && left="$left; processes: $(for p in $pids; do printf '%s(%s) ' "$p" "$( { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | cut -c1-60)"; done)"
  [ -e "/run/netns/$netns" ] && left="$left; netns $netns"
  cg=$(cgroups_of "$name")
  [ -n "$cg" ] && left="$left; cgroups: $(echo $cg)"
  [ -n "$veth" ] && ip link show "$veth" >/dev/null 2>&1 && left="$left; veth $veth"
  m=$(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/[0-9]*/mountinfo 2>/dev/null | sort -u)
  [ -n "$m" ] && left="$left; mounts: $(echo $m)"
  if nl=$(dk -H "$mgr" node ls --format '{{.ID}} {{.Hostname}}' 2>/dev/null); then
    n=$(printf '%s\n' "$nl" | awk -v n="$name" '$2 == n { print $1 }')
    [ -n "$n" ] && left="$left; swarm node $(echo $n)"
  else
    # no node list: fine when the engine manages no swarm, else nothing can be said
    ca=$(dk -H "$mgr" info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null) ||
      left="$left; cannot check the swarm: the engine at $mgr does not answer"
    [ "$ca" = true ] && left="$left; cannot check the swarm: $mgr lists no nodes"
  fi
  s=$(dk -H "$mgr" service ls -q --filter "label=faultline.test.multinode=$name" 2>/dev/null)
  [ -n "$s" ] && left="$left; services $(echo $s)"
  [ -e "$dir" ] && left="$left; folder $dir"
  if [ -n "$left" ]; then
    echo "multinode: left of $name: ${left#; }"
    return 1
  fi
  echo "multinode: nothing left of $name"
}

# ---- sweep -------------------------------------------------------------------------------------
sweep() {
  for st in /tmp/fl-mn-*/state; do
    [ -f "$st" ] || continue
    d=$(dirname "$st")
    owner=$(sed -n 's/^owner=//p' "$st"); keeper=$(sed -n 's/^keeper=//p' "$st")
    if { [ -n "$owner" ] && alive "$owner"; } || { [ -n "$keeper" ] && alive "$keeper"; }; then
      continue
    fi
    down "$d"
  done
  # nodes and namespaces of ours whose folder is gone (a dead run's)
  for line in $(dk -H "$mgr_default" node ls --format '{{.ID}}={{.Hostname}}' 2>/dev/null); do
    id=${line%%=*} h=${line#*=}
    case $h in fl-mn-*) [ -d "/tmp/$h" ] || { dk -H "$mgr_default" node rm --force "$id" >/dev/null 2>&1 && say "sweep: removed node $id ($h)"; } ;; esac
  done
  for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
    case $ns in fl-mn-*) [ -d "/tmp/$ns" ] || { ip netns del "$ns" 2>/dev/null && say "sweep: deleted netns $ns"; } ;; esac
  done
  return 0
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  up) [ $# -ge 1 ] || die "usage: up DIR [--join] [--label K=V]"; up "$@" ;;
  down) [ $# -ge 1 ] || die "usage: down DIR"; down "$@" ;;
  check) [ $# -ge 1 ] || die "usage: check DIR"; check "$@" ;;
  sweep) sweep ;;
  -h|--help|help|"") sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; [ -n "$cmd" ] ;;
  *) die "unknown command '$cmd' (up, down, check, sweep)" ;;
esac
