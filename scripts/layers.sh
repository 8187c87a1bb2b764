#!/bin/sh
# layers.sh -- the floors of the house, checked: no arrow up a floor or across one, no circle.
#
#   sh scripts/layers.sh            the #include graph of the source folders
#   sh scripts/layers.sh build      the same, plus the calls: `nm` of build/obj/**/*.o
#   sh scripts/layers.sh --graph [build]   print the folder and file graphs, check nothing
#   LAYERS_ALLOW=FILE sh scripts/layers.sh build
#                                   a ratchet while the house is rebuilt: violations listed in
#                                   FILE (one line each, as printed) are tolerated, and a line of
#                                   FILE that no longer occurs fails ("stale"), so the list only shrinks
#
# Floors, bottom up (a file may use its own folder and any folder on a lower floor):
#   0 core/   1 targets/ reports/   2 faults/ probes/   3 orchestrator/
# Rules (each violation is one line "layers: ..." and the exit status is 1):
#   up        an #include or a call from a folder to a folder on the same or a higher floor
#   circle    a cycle between files (calls, from nm) or between folders
#   hand      a prototype of a non-static function written in a .c file instead of a header
#             (how a call bypasses the include check)
# A header's folder is found by its basename; two headers with one basename fail.
set -u
LC_ALL=C; export LC_ALL
graph=0
[ "${1:-}" = --graph ] && { graph=1; shift; }
build=${1:-}
dirs="core targets reports faults probes orchestrator"
present=""; for d in $dirs; do [ -d "$d" ] && present="$present $d"; done
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
floors='BEGIN { fl["core"]=0; fl["targets"]=1; fl["reports"]=1; fl["faults"]=2; fl["probes"]=2; fl["orchestrator"]=3 }'

# ---- includes -----------------------------------------------------------------------
find $present -maxdepth 1 -name '*.[ch]' | sort > "$tmp/files"
awk -F/ '/\.h$/ { print $NF, $1 }' "$tmp/files" | sort > "$tmp/hdrs"
awk '{ n[$1]++ } END { for (h in n) if (n[h] > 1) print "layers: ambiguous header name " h }' "$tmp/hdrs" > "$tmp/bad"
# "src.c folder hdr.h" for every #include "..." of a header that lives in a source folder
xargs grep -H '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' < "$tmp/files" |
  sed 's/^\([^:]*\):.*include[[:space:]]*"\([^"]*\)".*/\1 \2/' |
  awk 'NR == FNR { where[$1] = $2; next }
       { split($1, p, "/"); h = $2; sub(".*/", "", h); if (h in where) print $1, p[1], h, where[h] }' "$tmp/hdrs" - \
  > "$tmp/inc"
awk "$floors"'
  $2 != $4 { e = $2 " -> " $4; if (!(e in seen)) { seen[e] = 1; print e > "'"$tmp/incfolders"'" } }
  $2 != $4 && fl[$4] >= fl[$2] { print "layers: up (include): " $1 " includes " $4 "/" $3 }' "$tmp/inc" >> "$tmp/bad"

# ---- calls (nm of the objects) -----------------------------------------------------------
if [ -n "$build" ]; then
  : > "$tmp/nm"
  for d in $present; do
    for o in "$build"/obj/$d/*.o; do
      [ -f "$o" ] || continue
      src=${o#"$build"/obj/}; src=${src%.o}.c
      [ -f "$src" ] || continue            # a stale object of a moved file
      nm "$o" | awk -v s="$src" 'NF == 3 && $2 ~ /^[TDRBCVW]$/ { print "D", $3, s } NF == 2 && $1 ~ /^[Uw]$/ { print "U", $2, s }' >> "$tmp/nm"
    done
  done
  awk '$1 == "D" { def[$2] = $3; next } { use[NR] = $2; by[NR] = $3 }
       END { for (i in use) if ((use[i] in def) && def[use[i]] != by[i]) print by[i], def[use[i]], use[i] }' "$tmp/nm" |
    sort -u > "$tmp/calls"
  awk "$floors"'{ split($1, a, "/"); split($2, b, "/") }
    a[1] != b[1] && fl[b[1]] >= fl[a[1]] { k = $1 " calls " $2 ":"; if (!(k in s)) o[++n] = k; s[k] = s[k] " " $3 }
    END { for (i = 1; i <= n; i++) print "layers: up (call): " o[i] s[o[i]] }' "$tmp/calls" >> "$tmp/bad"
  awk '{ print $1, $2 }' "$tmp/calls" | sort -u > "$tmp/fileedges"
  if ! tsort "$tmp/fileedges" > /dev/null 2> "$tmp/loops"; then
    awk '/input contains a loop/ { if (l != "") print "layers: circle: " l; l = ""; next }
         { sub(/^tsort: /, ""); l = l == "" ? $0 : l " -> " $0 }
         END { if (l != "") print "layers: circle: " l }' "$tmp/loops" >> "$tmp/bad"
  fi
  awk '{ split($1, a, "/"); split($2, b, "/"); if (a[1] != b[1]) print a[1], b[1] }' "$tmp/calls" | sort -u > "$tmp/calldirs"
fi
cat "$tmp/incfolders" ${build:+"$tmp/calldirs"} 2>/dev/null | sed 's/ -> / /' | sort -u > "$tmp/dirgraph"
tsort "$tmp/dirgraph" > /dev/null 2>&1 || echo "layers: circle between folders: $(tsort "$tmp/dirgraph" 2>&1 >/dev/null | grep -v 'contains a loop' | sed 's/^tsort: //' | tr '\n' ' ')" >> "$tmp/bad"

# ---- hand-written prototypes in .c files -----------------------------------------------------
for f in $(grep '\.c$' "$tmp/files"); do
  awk -v f="$f" '
    /^[A-Za-z_]/ && !/\(\*/ && !/^(static|typedef|struct [a-z_]+ *\{|enum|union|#|extern char \*\*environ)/ && /\) *(__attribute__\(\(.*\)\))? *;[[:space:]]*(\/\*.*)?$/ && /\(/ {
      line = $0; sub(/\(.*/, "", line); n = split(line, w, /[ *]+/); name = w[n]
      proto[name] = FNR ": " $0
    }
    /^[A-Za-z_].*\(/ && !/;[[:space:]]*(\/\*.*)?$/ { line = $0; sub(/\(.*/, "", line); n = split(line, w, /[ *]+/); defined[w[n]] = 1 }
    /^extern const struct [a-z_]+ / && f !~ /registry\.c$/ { print "layers: hand: " f ":" FNR ": " $0 }
    END { for (p in proto) if (!(p in defined)) print "layers: hand: " f ":" proto[p] }' "$f"
done >> "$tmp/bad"

if [ "$graph" = 1 ]; then
  echo "folders (include and call arrows):"; awk '{ print "  " $1 " -> " $2 }' "$tmp/dirgraph"
  if [ -n "$build" ]; then echo "files (calls):"; awk '{ print "  " $1 " -> " $2 ": " $3 }' "$tmp/calls" | sort; fi
  exit 0
fi
if [ -n "${LAYERS_ALLOW:-}" ]; then
  # a prototype's line number moves with every edit above it: compared without it
  nolines='s/^\(layers: hand: [^:]*\):[0-9]*:/\1:/'
  grep '^layers:' "$tmp/bad" | sed "$nolines" | sort -u > "$tmp/now"
  sed "$nolines" "$LAYERS_ALLOW" | sort -u > "$tmp/allow"
  comm -13 "$tmp/now" "$tmp/allow" | awk -v f="$LAYERS_ALLOW" '{ print "layers: stale allow line (delete it from " f "): " $0 }' > "$tmp/stale"
  comm -23 "$tmp/now" "$tmp/allow" > "$tmp/bad"
  cat "$tmp/stale" >> "$tmp/bad"
fi
if [ -s "$tmp/bad" ]; then cat "$tmp/bad"; echo "layers: $(grep -c '^layers:' "$tmp/bad") violation(s)"; exit 1; fi
echo "layers: ok ($(wc -l < "$tmp/files") files, $(wc -l < "$tmp/inc") includes${build:+, $(wc -l < "$tmp/calls") calls})"
