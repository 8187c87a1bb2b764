# lib.sh -- what the bench scripts share (sourced after `cd` to the top of the tree):
#   FL_INC    the -I list of every source folder (the Makefile's one list: make print-inc)
#   FL_PKGS   the pkg-config modules faultline links
#   bench_link NAME OUT SRC   link the bench driver SRC against $B/libfaultline.a into OUT
#                             (the Makefile does not build tests/bench/*.c); exits when it cannot
#   B         the build folder (FL_BUILD, default build)
#   bench_rounds N QUICK [ARG]  the rounds to run: ARG when given, else N, or QUICK under
#                             FL_BENCH_QUICK=1
FL_PKGS="libcurl libpq hiredis yaml-0.1 jansson"
B=${FL_BUILD:-build}
bench_rounds() {
  if [ -n "${3:-}" ]; then echo "$3"
  elif [ "${FL_BENCH_QUICK:-0}" = 1 ]; then echo "$2"
  else echo "$1"; fi
}
FL_INC=$(MAKEFLAGS= make -s --no-print-directory print-inc)
bench_link() {
  if [ ! -f "$B/libfaultline.a" ]; then
    echo "$1 bench: $B/libfaultline.a is missing (run make first)" >&2
    exit 1
  fi
  # shellcheck disable=SC2086
  cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE $FL_INC -o "$2" "$3" "$B/libfaultline.a" \
     $(pkg-config --cflags --libs $FL_PKGS) -lpthread -lm || exit 1
}
