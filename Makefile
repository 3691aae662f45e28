# wirefault — in-kernel fault injection for PostgreSQL wire traffic.
#
#   make            build build/wirefault (BPF objects, skeletons, loader)
#   make check      install missing packages, build, run every test
#   make fuzz       fuzz the command parser, then the PostgreSQL decoder, FUZZ_SECONDS each (default 300)
#   make demo       install missing packages, build, show a fault on a throwaway PostgreSQL
#   make demo-bank  the same with a Jepsen-style bank workload under random kills, resets, delays
#   make bench      install what it needs, run every benchmark, write docs/performance.md
#                   (~15 min; BENCH_QUICK=1 for a smoke run; bench/run.sh lists the knobs)
#   make vmlinux    regenerate vmlinux/vmlinux.h from this kernel's BTF (committed)
#   make install    install the loader with its capabilities, the mitmdump shim, the SQL helpers
#                   (PREFIX=/usr/local; see docs/citus.md)
#   V=1             show the commands
#
# Layout follows libbpf-tools: bpf/NAME.bpf.c -> build/NAME.bpf.o -> build/NAME.skel.h,
# user/*.c -> the loader, tests/*/test_*.c -> one test program each (other .c files of a test
# directory are helpers linked into every test of that directory; tests/lib/*.c, the test
# library, is linked into every unit test, BPF test and benchmark).

.DELETE_ON_ERROR:
.SECONDARY:
.DEFAULT_GOAL := all

OUT        := build
CLANG      ?= clang
BPFTOOL    ?= bpftool
LLVM_STRIP ?= $(shell command -v llvm-strip-14 || command -v llvm-strip || echo true)
CC         ?= cc
PREFIX     ?= /usr/local
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
  Q   :=
  msg  =
else
  Q   := @
  msg  = @printf '  %-9s %s\n' "$(1)" "$(2)";
endif

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-unused-parameter -Wvla -Wnull-dereference
CPPFLAGS := -Iinclude -Iuser -I$(OUT) -D_GNU_SOURCE
CFLAGS   ?= -O2 -g
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS   := -lbpf -lelf -lz -lpcap -lm

# clang 14 miscompiles atomics whose result is used unless -mcpu=v3 (DESIGN.md §7).
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
              -Ivmlinux -Iinclude -Ibpf -Wall -Werror -Wno-unused-function

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))

LIB_SRCS   := $(filter-out user/main.c,$(wildcard user/*.c))
LIB_OBJS   := $(patsubst user/%.c,$(OUT)/obj/%.o,$(LIB_SRCS))
SAN_OBJS   := $(patsubst user/%.c,$(OUT)/san/%.o,$(LIB_SRCS))

TLIB_SRCS  := $(wildcard tests/lib/*.c)
TLIB_HDRS  := $(wildcard tests/lib/*.h)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_HELP  := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(OUT)/tests/unit/%,$(UNIT_SRCS))
BPFT_SRCS  := $(wildcard tests/bpf/test_*.c)
BPFT_HELP  := $(filter-out $(BPFT_SRCS),$(wildcard tests/bpf/*.c))
BPFT_BINS  := $(patsubst tests/bpf/%.c,$(OUT)/tests/bpf/%,$(BPFT_SRCS))
E2E_TESTS  := $(sort $(wildcard tests/e2e/test_*.sh))
BANK       := $(OUT)/tests/bank/bank
PQ_CFLAGS  := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(OUT)/bench/%,$(BENCH_SRCS))

.PHONY: all check fuzz test test-unit test-bpf test-e2e demo demo-bank bank deps vmlinux install uninstall clean bench bench-build

all: $(OUT)/wirefault

# ---- BPF ------------------------------------------------------------------------------------
$(OUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(wildcard include/*.h) vmlinux/vmlinux.h | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# ---- loader ---------------------------------------------------------------------------------
$(OUT)/obj/%.o: user/%.c $(SKELS) | $(OUT)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNINGS) -MMD -MP -c $< -o $@

$(OUT)/san/%.o: user/%.c $(SKELS) | $(OUT)/san
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(CPPFLAGS) $(SANFLAGS) $(WARNINGS) -MMD -MP -c $< -o $@

$(OUT)/libwirefault.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUT)/libwirefault-san.a: $(SAN_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUT)/wirefault: $(OUT)/obj/main.o $(OUT)/libwirefault.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# ---- tests ----------------------------------------------------------------------------------
# Unit and BPF tests link the sanitized library: userspace logic always runs under ASan/UBSan.
$(OUT)/tests/unit/%: tests/unit/%.c $(UNIT_HELP) $(TLIB_SRCS) $(TLIB_HDRS) $(OUT)/libwirefault-san.a \
		| $(OUT)/tests/unit
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itests/unit -Itests/lib $(SANFLAGS) $(WARNINGS) -o $@ $< $(UNIT_HELP) \
		$(TLIB_SRCS) $(OUT)/libwirefault-san.a $(LDLIBS) -lcmocka

$(OUT)/tests/bpf/%: tests/bpf/%.c $(BPFT_HELP) $(TLIB_SRCS) $(TLIB_HDRS) $(SKELS) \
		$(OUT)/libwirefault-san.a | $(OUT)/tests/bpf
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itests/bpf -Itests/lib $(SANFLAGS) $(WARNINGS) -o $@ $< $(BPFT_HELP) \
		$(TLIB_SRCS) $(OUT)/libwirefault-san.a $(LDLIBS) -lcmocka

# The bank workload of tests/e2e/test_bank.sh and make demo-bank (libpq, threads), sanitized like
# every test program: a real run under faults exercises its error paths.
$(BANK): tests/bank/bank.c $(OUT)/libwirefault-san.a | $(OUT)/tests/bank
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(CPPFLAGS) $(PQ_CFLAGS) $(SANFLAGS) $(WARNINGS) -pthread -o $@ $< \
		$(OUT)/libwirefault-san.a -lpq

bank: $(BANK)

# ---- benchmarks (not tests: never timed in `make check`) --------------------------------------
# Each bench/NAME.c is a program; they reuse the BPF tests' packet builder and the test library.
$(OUT)/bench/%: bench/%.c tests/bpf/packet_builder.c tests/bpf/packet_builder.h $(TLIB_SRCS) \
		$(TLIB_HDRS) $(SKELS) $(OUT)/libwirefault.a | $(OUT)/bench
	$(call msg,CC-BENCH,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itests/bpf -Itests/lib -Iuser $(CFLAGS) $(WARNINGS) -o $@ $< \
		tests/bpf/packet_builder.c $(TLIB_SRCS) $(OUT)/libwirefault.a $(LDLIBS)

bench-build: $(BENCH_BINS)

# Not part of `make check`: benchmarks are never timed tests.
bench: deps
	@scripts/install-deps.sh --bench
	@$(MAKE) --no-print-directory all bench-build
	@bench/run.sh

test-unit: $(UNIT_BINS) $(OUT)/wirefault
	@tests/run-suite.sh unit $(UNIT_BINS)

test-bpf: $(BPFT_BINS)
	@tests/run-suite.sh bpf $(BPFT_BINS)

test-e2e: $(OUT)/wirefault $(BANK)
	@tests/run-suite.sh e2e $(E2E_TESTS)

test: test-unit test-bpf test-e2e

# The fuzz loops of the command parser and of the decoder (framing, printer, JSON) for longer
# than their few seconds in make check (FUZZ_SECONDS=300 each).
fuzz: $(OUT)/tests/unit/test_command_parse $(OUT)/tests/unit/test_pg_fuzz
	@WF_FUZZ_SECONDS=$(or $(FUZZ_SECONDS),300) $(OUT)/tests/unit/test_command_parse
	@WF_FUZZ_SECONDS=$(or $(FUZZ_SECONDS),300) $(OUT)/tests/unit/test_pg_fuzz

# The two README commands: both install what is missing first (needs root on a fresh machine).
check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory test

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

demo-bank: deps
	@$(MAKE) --no-print-directory all bank
	@scripts/demo-bank.sh

deps:
	@scripts/install-deps.sh

vmlinux:
	$(call msg,GEN,vmlinux/vmlinux.h)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

# make install: the loader with the file capabilities `wirefault run` needs, so that a non-root
# test harness can start it (docs/citus.md): they are root-equivalent, so only members of the
# group $(WF_GROUP) may execute it.  The mitmdump shim goes to libexec (put that directory first
# on PATH for Citus' harness), the SQL helpers to share.  With DESTDIR (packaging) the group and
# capabilities are left to the package's install script.
WF_GROUP ?= wirefault
WF_CAPS  := cap_bpf,cap_perfmon,cap_net_admin,cap_dac_override,cap_net_raw,cap_kill+ep
install: $(OUT)/wirefault
	install -D -m 0755 $(OUT)/wirefault $(DESTDIR)$(PREFIX)/bin/wirefault
	install -d $(DESTDIR)$(PREFIX)/libexec/wirefault $(DESTDIR)$(PREFIX)/share/wirefault
	sed 's|^WIREFAULT_INSTALLED=$$|WIREFAULT_INSTALLED=$(PREFIX)/bin/wirefault|' scripts/mitmdump \
		> $(DESTDIR)$(PREFIX)/libexec/wirefault/mitmdump
	chmod 0755 $(DESTDIR)$(PREFIX)/libexec/wirefault/mitmdump
	install -m 0644 scripts/wirefault-helpers.sql $(DESTDIR)$(PREFIX)/share/wirefault/
ifeq ($(DESTDIR),)
	getent group $(WF_GROUP) >/dev/null || groupadd --system $(WF_GROUP)
	chown root:$(WF_GROUP) $(PREFIX)/bin/wirefault
	chmod 0750 $(PREFIX)/bin/wirefault
	setcap $(WF_CAPS) $(PREFIX)/bin/wirefault
	@echo "installed $(PREFIX)/bin/wirefault (group $(WF_GROUP), capabilities $(WF_CAPS))"
	@echo "  add users that start it to the group: usermod -aG $(WF_GROUP) USER"
	@echo "  Citus: PATH=$(PREFIX)/libexec/wirefault:\$$PATH make check-failure (docs/citus.md)"
else
	@echo "DESTDIR set: group $(WF_GROUP) and capabilities $(WF_CAPS) are the package's to apply"
endif

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/wirefault $(DESTDIR)$(PREFIX)/libexec/wirefault/mitmdump \
		$(DESTDIR)$(PREFIX)/share/wirefault/wirefault-helpers.sql
	-rmdir $(DESTDIR)$(PREFIX)/libexec/wirefault $(DESTDIR)$(PREFIX)/share/wirefault

$(OUT) $(OUT)/obj $(OUT)/san $(OUT)/tests/unit $(OUT)/tests/bpf $(OUT)/tests/bank $(OUT)/bench:
	$(Q)mkdir -p $@

clean:
	$(call msg,CLEAN,$(OUT))
	$(Q)rm -rf $(OUT)

-include $(wildcard $(OUT)/obj/*.d $(OUT)/san/*.d)
