#!/bin/sh
# funcsize.sh -- functions longer than a limit, longest first; exit 1 when there is one.
#   sh scripts/funcsize.sh [LIMIT] [FILE...]   default 120 lines, the .c files of the source folders
#   FUNCSIZE_ALLOW=FILE ...                    a ratchet: "file:function" lines of FILE are
#                                              tolerated; one that is no longer long fails (stale)
# Lines run from the definition's first line to its closing brace in column 0 (the house
# style: a definition starts at column 0, its body closes with "}" alone in column 0; a
# one-line definition counts 1). Needs only sh and awk (mawk or gawk); agrees with ctags.
set -u
limit=${1:-120}; [ $# -gt 0 ] && shift
[ $# -eq 0 ] && set -- $(find core targets reports faults probes orchestrator -maxdepth 1 -name '*.c' 2>/dev/null | sort)
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
awk -v limit="$limit" '
  FNR == 1 { inf = 0 }
  !inf && /^[A-Za-z_]/ && !/^(typedef|extern|#)/ && !/;[[:space:]]*(\/\*.*)?$/ && !/=/ && /\(/ {
      start = FNR; name = $0; sub(/\(.*/, "", name); n = split(name, w, /[ *]+/); name = w[n]
      if ($0 ~ /\{.*\}[[:space:]]*$/) next
      inf = 1; next
  }
  inf && /^}/ { len = FNR - start + 1; if (len > limit) printf "%5d %s:%d %s\n", len, FILENAME, start, name; inf = 0 }
' "$@" | sort -rn > "$tmp/long"
if [ -n "${FUNCSIZE_ALLOW:-}" ]; then
  awk '{ sub(/:[0-9]+$/, "", $2); print $2 ":" $3 }' "$tmp/long" | sort -u > "$tmp/now"
  sort -u "$FUNCSIZE_ALLOW" > "$tmp/allow"
  comm -13 "$tmp/now" "$tmp/allow" | awk '{ print "funcsize: stale allow line: " $0 }'
  comm -23 "$tmp/now" "$tmp/allow" > "$tmp/new"
  awk 'NR == FNR { new[$0] = 1; next } { k = $2; sub(/:[0-9]+$/, "", k); if ((k ":" $3) in new) print }' "$tmp/new" "$tmp/long" > "$tmp/long2"
  mv "$tmp/long2" "$tmp/long"
  [ -s "$tmp/long" ] || [ -n "$(comm -13 "$tmp/now" "$tmp/allow")" ] || { echo "funcsize: none over $limit lines beyond the allow list"; exit 0; }
  cat "$tmp/long"; exit 1
fi
if [ -s "$tmp/long" ]; then cat "$tmp/long"; echo "funcsize: $(wc -l < "$tmp/long") function(s) over $limit lines"; exit 1; fi
echo "funcsize: no function over $limit lines"
