#!/bin/sh
# init-reference.sh -- write orchestrator/init_reference.c (what `faultline init` writes with
# no --compose) from docs/plan-reference.yaml, the one source of the annotated plan.
#   sh scripts/init-reference.sh     -- after editing docs/plan-reference.yaml
# test_init.c fails when the two differ.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/docs/plan-reference.yaml
out=$top/orchestrator/init_reference.c
{
  echo '/* init_reference.c -- the annotated reference plan `faultline init` writes (generated from docs/plan-reference.yaml by scripts/init-reference.sh). */'
  echo 'const char init_reference_plan[] ='
  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$src"
  echo '    ;'
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "init-reference: wrote $out"
