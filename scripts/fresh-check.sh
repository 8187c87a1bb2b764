#!/bin/sh
# fresh-check.sh -- the README's commands as on a fresh Debian 12 machine, without one and
# without removing anything here: a debootstrap'd minbase with only git and make added (kept
# in $FL_FRESH_DIR/base, copied anew for every run), a clone of this checkout's HEAD in it,
# and `make GOAL` run there in new mount, network (loopback only) and pid namespaces. What make
# installs and starts in there (apt packages, dockerd, its swarm, PostgreSQL, ...) touches
# nothing of this machine's, and whatever is left running dies with the namespaces. apt in
# there reaches deb.debian.org through a relay this script runs (that host, port 80, only; and
# registry.npmjs.org:443 by CONNECT, for npm, which make test runs: npm_config_https_proxy).
# As on this workplace's machines, installing a package starts no service (policy-rc.d).
#   sh scripts/fresh-check.sh [GOAL...]       default: test      (root; about 10 minutes)
#   FL_FRESH_DIR=/var/tmp/faultline-fresh     where the base and the run's copy live
# Exit: make's status (2: could not set up the fresh machine).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${FL_FRESH_DIR:-/var/tmp/faultline-fresh}
mirror=http://deb.debian.org/debian
goals=${*:-test}
say() { echo "fresh-check: $*"; }
[ "$(id -u)" = 0 ] || { say "needs root (chroot, namespaces, debootstrap)" >&2; exit 2; }
sh "$top/scripts/deps.sh" check || exit 2

# the base: Debian 12 minbase plus git and make (what the README expects a user to have)
if [ ! -x "$dir/base/usr/bin/make" ]; then
  say "building the Debian 12 base in $dir/base (debootstrap, a few minutes)"
  rm -rf "$dir/base" && mkdir -p "$dir" || exit 2
  debootstrap --variant=minbase --include=git,make,ca-certificates bookworm "$dir/base" "$mirror" \
    >"$dir/debootstrap.log" 2>&1 || { say "debootstrap failed: $(tail -n 1 "$dir/debootstrap.log")" >&2; exit 2; }
  printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" >"$dir/base/etc/apt/sources.list.d/debian.sources"
  rm -f "$dir/base/etc/apt/sources.list"
  printf '#!/bin/sh\nexit 101\n' >"$dir/base/usr/sbin/policy-rc.d" && chmod 755 "$dir/base/usr/sbin/policy-rc.d"
  echo 'Acquire::http::Proxy "http://127.0.0.1:3142/";' >"$dir/base/etc/apt/apt.conf.d/01fresh-check-relay"
fi
root=$dir/run
rm -rf "$root" && cp -a "$dir/base" "$root" || exit 2
git clone -q "$top" "$root/root/faultline" || exit 2
say "a fresh Debian 12 ($(cat "$root/etc/debian_version")) with git and make; clone of $(git -C "$top" log --oneline -1 | cut -c1-60)"

# the relay: a unix socket here, forwarded from 127.0.0.1:3142 inside the network namespace
sock=$dir/relay.sock
rm -f "$sock"
/usr/bin/python3 - "$sock" <<'EOF' &
import os, socket, socketserver, sys, threading
class Relay(socketserver.StreamRequestHandler):
    rbufsize = 0  # unbuffered: nothing after the request line is held back
    def handle(self):
        line = self.rfile.readline()
        parts = line.decode("latin1").split()
        if len(parts) == 3 and parts[0] == "CONNECT" and parts[1] == "registry.npmjs.org:443":
            # npm (the Toxiproxy client the tests install): a TLS tunnel to the registry only
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            up = socket.create_connection(("registry.npmjs.org", 443), timeout=120)
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        elif len(parts) != 3 or not parts[1].startswith("http://deb.debian.org/"):
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        else:
            up = socket.create_connection(("deb.debian.org", 80), timeout=120)
            up.sendall(line)
        def pump(src, dst):
            try:
                while True:
                    b = src.recv(65536)
                    if not b:
                        break
                    dst.sendall(b)
            except OSError:
                pass
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        t = threading.Thread(target=pump, args=(up, self.connection))
        t.start()
        pump(self.connection, up)
        t.join()
        up.close()
class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
Server(sys.argv[1], Relay).serve_forever()
EOF
relay=$!
trap 'kill $relay 2>/dev/null; rm -f "$sock"' EXIT
trap 'exit 130' INT TERM
i=0; while [ ! -S "$sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

say "make $goals (inside: new mount, network and pid namespaces)"
unshare --mount --net --pid --fork sh -c '
  r=$1; sock=$2; goals=$3
  mount --bind "$r" "$r" && mount --make-private "$r" && mount -t proc proc "$r/proc" &&
    mount --rbind /dev "$r/dev" && mount --rbind /sys "$r/sys" && mount -t tmpfs tmpfs "$r/run" || exit 2
  ip link set lo up || exit 2
  socat TCP-LISTEN:3142,bind=127.0.0.1,reuseaddr,fork "UNIX-CONNECT:$sock" &
  exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 npm_config_https_proxy=http://127.0.0.1:3142 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin sh -c "cd /root/faultline && make $goals"
' fresh-check "$root" "$sock" "$goals"
rc=$?
say "make $goals exited $rc"
exit $rc
