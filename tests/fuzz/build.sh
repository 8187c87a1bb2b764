#!/bin/sh
# build.sh -- `make fuzz`: build every tests/fuzz/fuzz_*.c as a libFuzzer binary (clang,
# -fsanitize=fuzzer,address,undefined) linked with faultline's sources.
#   build/fuzz/fuzz_plan tests/fuzz/corpus/plan -max_total_time=600    -- run one for 10 min
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
CC=${FUZZ_CC:-clang}
command -v "$CC" >/dev/null || { echo "fuzz: clang is needed (apt-get install clang)" >&2; exit 2; }
out=build/fuzz
mkdir -p "$out"
pk="libcurl libpq hiredis yaml-0.1 jansson"
# the Makefile's one list of source folders and library sources
flags="-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(MAKEFLAGS= make -s --no-print-directory print-inc) $(pkg-config --cflags $pk)"
objs=""
for src in $(MAKEFLAGS= make -s --no-print-directory print-src); do
  o="$out/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')"
  if [ ! -f "$o" ] || [ "$src" -nt "$o" ]; then $CC $flags -c "$src" -o "$o"; fi
  objs="$objs $o"
done
for t in tests/fuzz/fuzz_*.c; do
  name=$(basename "$t" .c)
  $CC $flags -fsanitize=fuzzer "$t" $objs -o "$out/$name" $(pkg-config --libs $pk) -lpthread -lm
  echo "fuzz: built $out/$name (corpus: tests/fuzz/corpus/${name#fuzz_}/)"
done
