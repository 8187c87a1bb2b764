#!/bin/sh
# deps.sh -- install the missing Debian packages of the given groups from scripts/packages.
#   sh scripts/deps.sh [--dry-run] GROUP...     groups: build demo docker test bench fuzz
# The Makefile calls it before each goal (make: build; make test: build test; ...). Quick when
# everything is there: each package is looked for as its PRESENT-WHEN column says (no apt).
# What is missing is installed with one `apt-get install` (root, Debian), said in one line.
#   --dry-run   list what would be installed, install nothing
# Exit: 0 everything of the groups is present (now); 1 something is missing and was not (could
# not be) installed, named on stderr with the reason; 2 usage.
# FL_DEPS_LIST=FILE reads another list (the tests use it to check the detection).
set -u
here=$(cd "$(dirname "$0")" && pwd)
list=${FL_DEPS_LIST:-$here/packages}
dry=0
groups=""
for a in "$@"; do
  case $a in
    -n|--dry-run) dry=1 ;;
    -h|--help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "deps: unknown option '$a' (--dry-run, --help)" >&2; exit 2 ;;
    *) groups="$groups $a" ;;
  esac
done
[ -n "$groups" ] || groups=" build"
[ -r "$list" ] || { echo "deps: cannot read the package list '$list'" >&2; exit 2; }

# known groups: every name used in the list
known=$(awk '!/^[ \t]*(#|$)/ { n = split($2, g, ","); for (i = 1; i <= n; i++) print g[i] }' "$list" | sort -u)
for g in $groups; do
  printf '%s\n' "$known" | grep -qx "$g" ||
    { echo "deps: unknown group '$g' (known: $(printf '%s' "$known" | tr '\n' ' '))" >&2; exit 2; }
done

present() { # PRESENT-WHEN
  case $1 in
    cmd:*) command -v "${1#cmd:}" >/dev/null 2>&1 ;;
    pc:*) command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "${1#pc:}" 2>/dev/null ;;
    path:*) for f in ${1#path:}; do [ -e "$f" ] && return 0; done; return 1 ;;
    *) return 1 ;;
  esac
}

# the packages of the groups asked for that are missing, in list order, once each
missing() {
  awk -v want="$groups" '
    BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) if (w[i] != "") W[w[i]] = 1 }
    /^[ \t]*(#|$)/ { next }
    { k = split($2, g, ","); for (i = 1; i <= k; i++) if (g[i] in W) { print $1, $3; next } }
  ' "$list" | while read -r pkg how; do
    present "$how" || printf '%s\n' "$pkg"
  done | awk '!seen[$0]++' | tr '\n' ' ' | sed 's/ $//'
}

need=$(missing)
[ -z "$need" ] && exit 0
for_what="for$groups"
if [ "$dry" = 1 ]; then
  echo "deps: would install ($for_what): $need"
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: missing ($for_what): $need; this is not a Debian/apt machine: install them yourself" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing ($for_what): $need; run as root to install them, or: apt-get install $need" >&2
  exit 1
fi
echo "deps: installing with apt-get ($for_what): $need"
log=$(mktemp /tmp/fl-deps-XXXXXX)
t0=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
# wait for another apt (a second session installing) instead of failing on its lock
apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
# the local lists may be stale or absent (a fresh machine has none): refresh them first
# shellcheck disable=SC2086
if ! apt_get update -qq >"$log" 2>&1 || ! apt_get install -y -qq --no-install-recommends $need >>"$log" 2>&1; then
  echo "deps: apt-get failed (the mirror out of reach, or dpkg in trouble: its last lines say which):" >&2
  tail -n 5 "$log" | sed 's/^/deps:   /' >&2
  rm -f "$log"
  still=$(missing)
  [ -n "$still" ] && echo "deps: still missing: $still" >&2
  exit 1
fi
rm -f "$log"
still=$(missing)
if [ -n "$still" ]; then
  echo "deps: apt-get installed the packages but these are still not found: $still" >&2
  exit 1
fi
echo "deps: installed $(echo $need | wc -w) packages in $(( $(date +%s) - t0 ))s"
