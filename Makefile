# faultline -- plain, non-recursive Makefile.
#   make            build build/faultline (installs missing Debian deps first, as root)
#   make test       build and run every test (starts PostgreSQL/Redis/dockerd as needed)
#   make asan       the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make demo       run the bundled demo experiment (plans/demo.yaml)
#   make bench      benchmarks against peers, measured in the same run
#   make fuzz       build the libFuzzer targets (clang)
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
ALL_CFLAGS = -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP \
             -Iorchestrator -Ifaults -Iprobes -Ireports -Itests \
             $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lm $(SANFLAGS)

Q := @
ifeq ($(V),1)
  Q :=
endif

LIB_SRC  := $(filter-out orchestrator/main.c,$(wildcard orchestrator/*.c faults/*.c probes/*.c reports/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
MAIN_OBJ := $(B)/obj/orchestrator/main.o
TEST_SRC := tests/harness.c tests/testsrv.c tests/dockerfx.c $(wildcard tests/unit/*.c tests/integration/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(B)/obj/%.o)
DEMO_SRC := $(wildcard examples/scheduler/*.c)
DEMO_OBJ := $(DEMO_SRC:%.c=$(B)/obj/%.o)
BENCH_SRC := $(wildcard tests/bench/*.c)

.PHONY: all deps test asan demo demo-docker bench fuzz docs clean
all: $(B)/faultline $(if $(DEMO_SRC),$(B)/scheduler-api)

$(B)/.deps-ok: scripts/deps.sh
	$(Q)mkdir -p $(B)
	$(Q)sh scripts/deps.sh
	$(Q)touch $@
deps: $(B)/.deps-ok

$(B)/obj/%.o: %.c | $(B)/.deps-ok
	$(Q)mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/obj/tests/%.o: tests/%.c | $(B)/.deps-ok
	$(Q)mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(MHD_CFLAGS) -c -o $@ $<

$(B)/obj/examples/%.o: examples/%.c | $(B)/.deps-ok
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

# Tests: tests/run.sh starts throwaway PostgreSQL / Redis / dockerd on loopback,
# runs every test (forked, with timeouts) and ends with "N passed, N failed, N skipped".
test: $(B)/faultline $(B)/fl-tests $(if $(DEMO_SRC),$(B)/scheduler-api)
	$(Q)FL_BUILD=$(B) sh tests/run.sh $(T)

asan:
	$(Q)$(MAKE) --no-print-directory SANITIZER=asan test

demo: all
	$(Q)sh scripts/demo.sh

demo-docker: all
	$(Q)sh scripts/demo.sh docker

bench: all
	$(Q)BENCH=$(BENCH) sh tests/bench/run.sh

fuzz:
	$(Q)sh tests/fuzz/build.sh

# docs/kinds.md is `faultline list` (the registries' own tables); a test keeps it current
docs: $(B)/faultline
	$(Q)sh scripts/kinds-md.sh $(B)/faultline > docs/kinds.md

clean:
	rm -rf build build-asan

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
