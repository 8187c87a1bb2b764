# faultline -- plain, non-recursive Makefile.
#   make            build build/faultline
#   make test       build and run every test: installs what the tests need, starts PostgreSQL,
#                   Redis, dockerd (+ swarm) as needed, stops what it started (tests/run.sh)
#   make test T=docker   only the tests whose name or file contains "docker"
#   make asan       the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make demo       run the bundled demo experiment (plans/demo.yaml)
#   make demo-docker     the same with the stack in Docker containers (starts dockerd if needed)
#   make bench      benchmarks against peers, measured in the same run
#   make fuzz       build the libFuzzer targets (clang)
# Each goal first installs the Debian packages it needs that are missing (as root, apt-get):
# scripts/deps.sh with the groups of scripts/packages, the one list of them.
# build on every core unless told otherwise (-jN, -j1)
ifeq ($(filter -j%,$(MAKEFLAGS)),)
  MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif

SANITIZER ?=
ifeq ($(SANITIZER),asan)
  B        := build-asan
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPT      := -O1
else
  B        := build
  SANFLAGS :=
  OPT      := -O2
endif

CC      ?= cc
PKGS    := libcurl libpq hiredis yaml-0.1 jansson
# recursive (=) so pkg-config runs after the deps step installed what was missing
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
MHD_CFLAGS = $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS   = $(shell pkg-config --libs libmicrohttpd 2>/dev/null)

CFLAGS  ?= $(OPT) -g
# the source folders, floor by floor (docs/HACKING.md, Layout)
SRC_DIRS := core targets reports faults probes orchestrator
INC_ALL  := $(addprefix -I,$(SRC_DIRS))
ALL_CFLAGS = -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP \
             $(INC_ALL) -Itests \
             $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lm $(SANFLAGS)

Q := @
ifeq ($(V),1)
  Q :=
endif

LIB_SRC  := $(filter-out orchestrator/main.c,$(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
MAIN_OBJ := $(B)/obj/orchestrator/main.o
TEST_SRC := tests/harness.c tests/testsrv.c tests/dockerfx.c tests/multinode.c $(wildcard tests/unit/*.c tests/integration/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(B)/obj/%.o)
DEMO_SRC := $(wildcard examples/scheduler/*.c)
DEMO_OBJ := $(DEMO_SRC:%.c=$(B)/obj/%.o)
BENCH_SRC := $(wildcard tests/bench/*.c)

.PHONY: all deps test asan demo demo-docker bench fuzz docs clean print-inc print-src
all: $(B)/faultline $(if $(DEMO_SRC),$(B)/scheduler-api)

# the package groups (scripts/packages) of the goals asked for; `make asan` is `make test` inside
DEPS_GROUPS ?= build $(if $(filter test asan,$(MAKECMDGOALS)),test) $(if $(filter demo,$(MAKECMDGOALS)),demo) \
  $(if $(filter demo-docker,$(MAKECMDGOALS)),docker) $(if $(filter bench,$(MAKECMDGOALS)),bench) \
  $(if $(filter fuzz,$(MAKECMDGOALS)),fuzz)
# quick when all is there; a missing test package only makes tests skip (tests/run.sh says why),
# a missing build package stops here
deps:
	$(Q)sh scripts/deps.sh $(DEPS_GROUPS) || sh scripts/deps.sh --dry-run build >/dev/null || \
	  { echo "make: cannot build without the packages above" >&2; exit 1; }

$(B)/obj/%.o: %.c | deps
	$(Q)mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/obj/tests/%.o: tests/%.c | deps
	$(Q)mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(MHD_CFLAGS) -c -o $@ $<

$(B)/obj/examples/%.o: examples/%.c | deps
	$(Q)mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(MHD_CFLAGS) -c -o $@ $<

$(B)/libfaultline.a: $(LIB_OBJ)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

# every object, not the archive: weakly referenced parts (subcommands, report writers)
# are pulled from an archive only when something else needs them
$(B)/faultline: $(MAIN_OBJ) $(LIB_OBJ)
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $^ $(LDLIBS_ALL)

$(B)/fl-tests: $(TEST_OBJ) $(LIB_OBJ)
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $^ $(MHD_LIBS) $(LDLIBS_ALL)

$(B)/scheduler-api: $(DEMO_OBJ) $(B)/libfaultline.a
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $^ $(MHD_LIBS) $(LDLIBS_ALL)

# Tests: tests/run.sh starts throwaway PostgreSQL / Redis / dockerd on loopback, runs every
# test (forked, with timeouts, JOBS at a time: files that share a service never overlap, see
# tests/harness.h), prints the ten slowest and ends with "N passed, N failed, N skipped".
JOBS ?= 2
test: deps $(B)/faultline $(B)/fl-tests $(if $(DEMO_SRC),$(B)/scheduler-api)
	$(Q)FL_BUILD=$(B) FL_TEST_JOBS=$${FL_TEST_JOBS:-$(JOBS)} sh tests/run.sh $(T)

asan:
	$(Q)$(MAKE) --no-print-directory SANITIZER=asan test

demo: deps all
	$(Q)sh scripts/demo.sh

demo-docker: deps all
	$(Q)sh scripts/demo.sh docker

bench: deps all
	$(Q)BENCH=$(BENCH) sh tests/bench/run.sh

fuzz: deps
	$(Q)sh tests/fuzz/build.sh

# docs/kinds.md is `faultline list` (the registries' own tables); a test keeps it current
docs: $(B)/faultline
	$(Q)sh scripts/kinds-md.sh $(B)/faultline > docs/kinds.md

clean:
	rm -rf build build-asan

# for the scripts that compile against the sources (tests/fuzz/build.sh, tests/bench/*.sh)
print-inc:
	@echo $(INC_ALL)
print-src:
	@echo $(LIB_SRC)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
