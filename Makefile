# fxbreaker: a plain GNU Makefile.
#
#   make run        install what is missing, build, run fxbreakerd on the
#                   example config (data in ./run; Ctrl-C stops it)
#   make run-cluster  the same with three nodes on examples/cluster.conf
#                   (data in ./run-cluster; Ctrl-C stops all three)
#   make replay-night  replay the night of 2024-12-03 (no daemon)
#   make test       install what is missing, build, run every test; ends
#                   with "N passed, N failed" and fails if any failed
#   make            build everything into build/
#   make check      formatting, module boundaries, cppcheck
#   make asan       the tests under AddressSanitizer + UBSan
#   make bench      benchmarks (prints a table and a JSON line)
#   make soak       the long proof: crashes, a 10-minute load, 1,000
#                   clients, 100 cluster failovers (tests/soak.sh;
#                   about 30 minutes)
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS each
#   make deps       install the Debian packages (as root, only if missing)
#                   and build nng (below)
#   make nng        build nng alone (third_party/nng/README.md)
#   make install    PREFIX (/usr/local), DESTDIR: the daemon, the tool,
#                   the client library, man pages, the systemd unit
#                   (docs/OPERATIONS.md); make uninstall
#   make man        lint and render the man pages (docs/man)
#
# CC=clang works; WERROR=1 (CI) turns warnings into errors.
#
# nng: everything links build/nng/prefix/lib/libnng.a, Debian's nng 1.5.2
# source with the fix for nng issue #1518 (a raw connect-and-close
# silenced a listener for good), built once by third_party/nng/build.sh
# with gcc whatever CC is.  NNG=system links Debian's libnng instead,
# into build/system-nng: only to show the bug (tests/e2e_probe.sh).

CC      ?= cc
NNG     ?= ours
ifeq ($(NNG),system)
BUILD   ?= build/system-nng
endif
BUILD   ?= build
# nng's task threads (third_party/nng/README.md: measured for this load).
NNG_TASKQ ?= 2
NNG_DIR   = build/nng
NNG_STAMP = $(NNG_DIR)/prefix/.stamp
NNG_SRC   = third_party/nng/build.sh third_party/nng/patches/series \
	    $(wildcard third_party/nng/patches/*.patch)
ifeq ($(NNG),system)
NNG_CPPFLAGS =
NNG_LIBS     = -lnng
NNG_DEP      =
else
NNG_CPPFLAGS = -I$(NNG_DIR)/prefix/include
NNG_LIBS     = $(NNG_DIR)/prefix/lib/libnng.a -lmbedtls -lmbedx509 \
	       -lmbedcrypto
NNG_DEP      = $(NNG_STAMP)
endif
# raft (libraft 0.15, canonical/raft) and libuv, its I/O: the cluster
# (daemon/cluster*.c); the linker's --as-needed keeps them out of the rest.
PKGS     = inih jansson sqlite3 libsodium raft libuv
WARN     = -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wconversion \
	   -Wsign-conversion -Wstrict-prototypes -Wmissing-prototypes \
	   -Wformat=2 -Wvla -Wcast-qual -Wpointer-arith -Wundef \
	   -Wwrite-strings -Wdouble-promotion -Wold-style-definition
OPT     ?= -O2 -g
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -Ibreaker -Iipc -Iledger -Iconfig \
	    -Idaemon -Itests $(NNG_CPPFLAGS)
CFLAGS  += $(WARN) $(OPT) -MMD -MP $(if $(WERROR),-Werror) $(SAN) \
	   $(shell pkg-config --cflags $(PKGS))
BASE_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null || \
	     echo -linih -ljansson -lsqlite3 -lsodium -lraft -luv)
LDLIBS  += $(BASE_LIBS) $(NNG_LIBS) -lpthread
LDFLAGS += $(SAN)

# nng's build (third_party/nng): the fetch (apt, the archive's keyring),
# dpkg-source, patch, cmake and ninja, mbedTLS for its TLS transport.
# libnng-dev stays: NNG=system and build/fxbreakerd-stocknng link it;
# nng-utils gives the tests nngcat; prometheus gives tests/e2e_metrics.sh
# a real Prometheus and promtool; chromium runs the board's page in
# tests/e2e_board.sh.  mandoc lints and renders the man pages; systemd
# (not on a minimal Debian 12) has systemd-analyze and systemd-sysusers
# for tests/e2e_install.sh.
DEB_PKGS = build-essential pkg-config libinih-dev libjansson-dev \
	   libnng-dev nng-utils libsqlite3-dev sqlite3 libsodium-dev jq \
	   python3 faketime cmake ninja-build dpkg-dev patch libmbedtls-dev \
	   debian-archive-keyring prometheus chromium \
	   mandoc systemd
# tests/e2e_tls.sh makes its certificates with openssl; e2e_sockperm.sh
# uses groupadd/useradd (passwd) and setpriv (util-linux), in every
# Debian install.
DEB_PKGS += openssl
# The cluster: libraft (canonical/raft, Debian's 0.15) on libuv.
DEB_PKGS += libraft-dev libuv1-dev
# tests/e2e_netsplit.sh builds network namespaces and veth links (ip).
DEB_PKGS += iproute2

BREAKER_SRC = $(wildcard breaker/*.c)
CTL_SRC     = $(wildcard ctl/*.c)
IPC_SRC     = $(wildcard ipc/*.c)
LEDGER_SRC  = $(wildcard ledger/*.c)
CONFIG_SRC  = $(wildcard config/*.c)
DAEMON_SRC  = $(wildcard daemon/*.c)
MIGRATIONS  = $(sort $(wildcard migrations/[0-9]*.sql))

BREAKER_OBJ = $(BREAKER_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ     = $(CTL_SRC:%.c=$(BUILD)/%.o)
IPC_OBJ     = $(IPC_SRC:%.c=$(BUILD)/%.o)
LEDGER_OBJ  = $(LEDGER_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/ledger_migrations.o
CONFIG_OBJ  = $(CONFIG_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ  = $(DAEMON_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/board_html.o

UNIT_TESTS  = breaker_test decimal_test config_test client_test \
	      client_outage_test client_failover_test wire_test \
	      reply_test oom_test nng_close_test trust_test daemon_test \
	      command_test entry_test calendar_test plan_test
TEST_BINS   = $(UNIT_TESTS:%=$(BUILD)/tests/%)
BENCH_BINS  = $(BUILD)/bench/bench_engine $(BUILD)/bench/loadgen \
	      $(BUILD)/bench/echo_server $(BUILD)/bench/tickfeed \
	      $(BUILD)/bench/uds_pingpong $(BUILD)/bench/manyclients

.PHONY: all test unit check asan bench clean deps run run-cluster \
	replay-night format \
	fuzz nng soak board-screenshot calibrate-shot
all: $(BUILD)/fxbreakerd $(BUILD)/fxbreakerctl $(TEST_BINS) $(BENCH_BINS)

# nng before any object: its headers are in build/nng/prefix/include,
# and a new build of it (a patch added) recompiles and relinks everything.
# The system compiler whatever CC says (make exports a command line's CC).
$(NNG_STAMP): $(NNG_SRC)
	env -u CC -u CFLAGS sh third_party/nng/build.sh $(NNG_DIR) $(NNG_TASKQ)
nng: $(NNG_STAMP)

$(BUILD)/%.o: %.c $(NNG_DEP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Each archive is made afresh: `ar r` keeps members whose source is gone
# (a file split or removed), which would define their functions twice.
$(BUILD)/libbreaker.a: $(BREAKER_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libfxbipc.a: $(IPC_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# The schema travels inside the binaries: migrations/*.sql become strings.
$(BUILD)/gen/ledger_migrations.c: $(MIGRATIONS) migrations/embed.sh
	@mkdir -p $(dir $@)
	sh migrations/embed.sh $@ $(MIGRATIONS)

$(BUILD)/gen/ledger_migrations.o: $(BUILD)/gen/ledger_migrations.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-overlength-strings -c $< -o $@

# The board's page travels inside fxbreakerd too (daemon/board_routes.c).
$(BUILD)/gen/board_html.c: daemon/board.html daemon/board_embed.sh
	@mkdir -p $(dir $@)
	sh daemon/board_embed.sh $@ daemon/board.html

$(BUILD)/gen/board_html.o: $(BUILD)/gen/board_html.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-overlength-strings -c $< -o $@

$(BUILD)/libledger.a: $(LEDGER_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libconfig.a: $(CONFIG_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# Link order: each library before the ones it uses.
LIBS_ALL = $(BUILD)/libledger.a $(BUILD)/libfxbipc.a $(BUILD)/libconfig.a \
	   $(BUILD)/libbreaker.a

$(BUILD)/fxbreakerd: $(DAEMON_OBJ) $(LIBS_ALL)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/fxbreakerctl: $(CTL_OBJ) $(LIBS_ALL)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The same daemon on Debian's stock libnng 1.5.2 (same API and ABI; the
# objects are the ones above): tests/e2e_probe.sh shows the bug on it and
# the watchdog catching it.  Not for production.
ifneq ($(NNG),system)
all: $(BUILD)/fxbreakerd-stocknng
$(BUILD)/fxbreakerd-stocknng: $(DAEMON_OBJ) $(LIBS_ALL)
	$(CC) $(LDFLAGS) $^ $(BASE_LIBS) -lnng -lpthread -o $@
endif

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/tests/testlib.o $(LIBS_ALL)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The client tests share their fake service (tests/client_fake.c).
$(BUILD)/tests/client_test $(BUILD)/tests/client_outage_test \
	$(BUILD)/tests/client_failover_test: \
	$(BUILD)/tests/client_fake.o

# daemon_test (parking, the reopening gate) and command_test (the command
# table, the four-eyes requests) link the daemon's files, all but its
# main, and open no socket; plan_test (planned suspensions) links them
# too and runs the daemon in process, on its sockets and log.
DAEMON_LIB_OBJ = $(filter-out $(BUILD)/daemon/fxbreakerd.o,$(DAEMON_OBJ))
$(BUILD)/tests/daemon_test $(BUILD)/tests/command_test \
		$(BUILD)/tests/plan_test: \
		$(BUILD)/tests/%: $(BUILD)/tests/%.o \
		$(BUILD)/tests/testlib.o $(DAEMON_LIB_OBJ) $(LIBS_ALL)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# oom_test runs on a second build of the engine in which every allocation
# can be made to fail (tests/failalloc.h, included ahead of each source).
OOM_OBJ = $(BREAKER_SRC:%.c=$(BUILD)/oom/%.o)
$(BUILD)/oom/%.o: %.c tests/failalloc.h $(NNG_DEP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -include tests/failalloc.h -c $< -o $@
$(BUILD)/tests/oom_test: $(BUILD)/tests/oom_test.o \
		$(BUILD)/tests/failalloc.o $(BUILD)/tests/testlib.o $(OOM_OBJ) \
		$(BUILD)/libconfig.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@


# Keep the intermediate objects (no "rm build/..." chatter after a run).
.SECONDARY:

# The engine's config comes from config/, which reads the INI for it.
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libconfig.a $(BUILD)/libbreaker.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The test runner prints each test and ends with "N passed, N failed"; its
# exit status is the make status (no pipe to swallow it).  The build runs
# in a sub-make so that it sees the packages `deps` may just have installed.
test: deps
	@$(MAKE) --no-print-directory all
	@sh tests/run.sh $(BUILD)

# The tests alone, for a machine that has the packages.
unit: all
	@sh tests/run.sh $(BUILD)

# AddressSanitizer and UBSan in their own build directory.
asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan \
		OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" unit

EXAMPLE_CONF = examples/fxbreaker.conf
EXAMPLE_TAPE = examples/night-2024-12-03.tape

# The service on the example config, in the foreground: data in ./run/data,
# sockets in ./run (the README's tour talks to it).  Ctrl-C stops it.
run: deps
	@$(MAKE) --no-print-directory $(BUILD)/fxbreakerd $(BUILD)/fxbreakerctl
	$(BUILD)/fxbreakerctl validate $(EXAMPLE_CONF)
	$(BUILD)/fxbreakerd -f $(EXAMPLE_CONF)

# Three nodes of examples/cluster.conf in the foreground, each line of
# their logs prefixed with the node: data in ./run-cluster/nodeN, the
# shared log key made once in ./run-cluster (tests/run_cluster.sh).
# Ctrl-C stops all three (one killed meanwhile is said; the others go on).
run-cluster: deps
	@$(MAKE) --no-print-directory $(BUILD)/fxbreakerd $(BUILD)/fxbreakerctl
	@sh tests/run_cluster.sh $(BUILD)

# The README's picture of the board: the example config's daemon, the
# night's jump replayed into it (about four minutes), chromium's shot.
board-screenshot: $(BUILD)/fxbreakerd $(BUILD)/fxbreakerctl
	sh tests/board_screenshot.sh $(BUILD) docs/board.png

# docs/night-2024-12-03.md's calibration report: the night under the
# 4 x 3 grid it shows, opened in chromium (tests/calibrate_test.py).
CALIBRATE_GRID = --sweep usdkrw-velocity.pct@night=0.5,0.75,1,1.5 \
		 --sweep usdkrw-wallet-buy-volume.trip@night=70,90,120
calibrate-shot: $(BUILD)/fxbreakerctl
	@tmp=$$(mktemp -d /tmp/fxb-calibrate.XXXXXX) && \
	$(BUILD)/fxbreakerctl calibrate --config examples/fxbreaker.conf \
		$(CALIBRATE_GRID) --html $$tmp/night.html \
		examples/night-2024-12-03.tape >/dev/null && \
	BOARD_PROFILE=$$tmp/chromium python3 tests/calibrate_test.py shot \
		$$tmp/night.html docs/calibrate-night.png; \
	rc=$$?; rm -rf $$tmp; exit $$rc

# The example night, replayed through the example config (no daemon).
replay-night: $(BUILD)/fxbreakerctl
	$(BUILD)/fxbreakerctl replay --config $(EXAMPLE_CONF) $(EXAMPLE_TAPE)

# The service benchmark's tools share bench_util.o; the echo server is
# ipc/ipc_server.c itself with no engine (bench/echo_server.c).
$(BUILD)/bench/loadgen $(BUILD)/bench/tickfeed $(BUILD)/bench/uds_pingpong \
		$(BUILD)/bench/manyclients: \
	$(BUILD)/bench/bench_util.o
$(BUILD)/bench/echo_server: $(BUILD)/libfxbipc.a

# bench/run.sh: the engine, the service against a bare nng echo server,
# nng's task threads (the echo server on nng built with 2 and with nng's
# default), the ledger's costs, and three nodes beside one (trip latency,
# failover); a table, then one JSON line (docs/PERFORMANCE.md).
bench: $(BENCH_BINS) $(LEDGER_BENCH_BINS) $(BUILD)/fxbreakerd \
	$(BUILD)/fxbreakerctl $(BUILD)/bench/echo_server-taskq-default
	@sh bench/run.sh $(BUILD)

# The same nng source, patch and options, with nng's default task threads
# (bench/nng_taskq_bench.sh's comparison); built only for the bench.
NNG_DEFAULT_DIR   = build/nng-taskq-default
NNG_DEFAULT_STAMP = $(NNG_DEFAULT_DIR)/prefix/.stamp
$(NNG_DEFAULT_STAMP): $(NNG_SRC)
	env -u CC -u CFLAGS sh third_party/nng/build.sh $(NNG_DEFAULT_DIR) default
$(BUILD)/bench/echo_server-taskq-default: $(BUILD)/bench/echo_server.o \
		$(BUILD)/libfxbipc.a $(BUILD)/libbreaker.a $(NNG_DEFAULT_STAMP)
	$(CC) $(LDFLAGS) $(BUILD)/bench/echo_server.o $(BUILD)/libfxbipc.a \
		$(BUILD)/libbreaker.a $(BASE_LIBS) \
		$(NNG_DEFAULT_DIR)/prefix/lib/libnng.a -lmbedtls -lmbedx509 \
		-lmbedcrypto -lpthread -o $@

# bench/ledger_bench.sh's and bench/cluster_bench.sh's programs link the
# ledger, the config reader and the client library; make_ledger also the
# daemon's notice texts, so that its rows carry them.
LEDGER_BENCH_BINS = $(BUILD)/bench/make_ledger $(BUILD)/bench/trip_bench \
		    $(BUILD)/bench/restart_bench $(BUILD)/bench/touch_products \
		    $(BUILD)/bench/cluster_bench
all: $(LEDGER_BENCH_BINS)
$(BUILD)/bench/make_ledger: $(BUILD)/bench/make_ledger.o \
		$(BUILD)/daemon/notice.o $(LIBS_ALL)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/bench/trip_bench $(BUILD)/bench/restart_bench \
		$(BUILD)/bench/touch_products $(BUILD)/bench/cluster_bench: \
		$(BUILD)/bench/%: \
		$(BUILD)/bench/%.o $(LIBS_ALL)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Module boundaries (docs/ARCHITECTURE.md): sqlite only in ledger/, nng only in ipc/,
# and the engine includes nothing of the other modules and reads no INI
# (config/ does).  breaker_config.c alone has stdio.h, for snprintf: it
# words the config's error messages.
#
# The daemon's files call each other one way (docs/ARCHITECTURE.md):
# tests/check_calls.py reads their objects' symbols and fails on a cycle.
check: $(DAEMON_OBJ)
	@python3 tests/check_calls.py $(DAEMON_OBJ)
	@! grep -rn --include='*.[ch]' --exclude-dir=build 'sqlite3.h' . | grep -v '^./ledger/' \
		|| { echo 'check: <sqlite3.h> outside ledger/'; exit 1; }
	@! grep -rn --include='*.[ch]' --exclude-dir=build '<nng/' . | grep -v -e '^./ipc/' -e '^./tests/' -e '^./bench/' \
		|| { echo 'check: <nng/...> outside ipc/'; exit 1; }
	@! grep -n '#include' breaker/*.[ch] | grep -E 'ipc|ledger|nng|sqlite|sodium|jansson|ini.h|stdio.h' \
		| grep -v 'breaker_config.c.*stdio.h' \
		|| { echo 'check: breaker/ must not do I/O or use other modules'; exit 1; }
	@! grep -nE '\\"code\\"|"code" *: *[0-9]|"code" *, *json_integer' \
		daemon/*.[ch] ctl/*.[ch] \
		|| { echo 'check: an error code written by hand (ipc/ipc_reply*.c write every reply)'; exit 1; }
	@clang-format --dry-run --Werror breaker/*.[ch] ctl/*.[ch] ipc/*.[ch] \
		ledger/*.[ch] config/*.[ch] daemon/*.[ch] tests/*.[ch] \
		tests/fuzz/*.c bench/*.[ch]
	@if [ -f ../shared/RULES.md ]; then \
		tail -n +4 docs/RULES.md | cmp -s - ../shared/RULES.md || \
		{ echo 'check: docs/RULES.md differs from ../shared/RULES.md'; \
		  exit 1; }; fi
	@cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr -Ibreaker -Iipc -Iledger -Iconfig -Idaemon \
		breaker ctl ipc ledger config daemon
	@echo "check: ok"

format:
	clang-format -i breaker/*.[ch] ctl/*.[ch] ipc/*.[ch] ledger/*.[ch] \
		config/*.[ch] daemon/*.[ch] tests/*.[ch] tests/fuzz/*.c \
		bench/*.[ch]

# libFuzzer targets (clang) with ASan and UBSan: the config parser, the
# engine, the wire request parser (every op, both parsers agreeing), a
# signed command's envelope and body, the tape reader, and calendars
# (their values' parsers, the session queries agreeing with each other).
# The project's sources are built once into build/fuzz/ by a sub-make
# with the fuzzer's instrumentation; each target then runs FUZZ_SECONDS
# from its
# committed seeds in tests/fuzz/corpus/TARGET/ (what it finds goes to
# build/fuzz/TARGET.corpus/, a crash to build/fuzz/TARGET-crash-*: rerun
# one with build/fuzz/TARGET FILE).  CI runs FUZZ_SECONDS=20.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = fuzz_config fuzz_engine fuzz_wire fuzz_command fuzz_tape \
	       fuzz_entry fuzz_calendar
FUZZ_SAN  = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OBJ  = $(filter-out %/fxbreakerd.o %/fxbreakerctl.o, \
	    $(DAEMON_SRC:%.c=build/fuzz/%.o) $(CTL_SRC:%.c=build/fuzz/%.o)) \
	    build/fuzz/gen/board_html.o
FUZZ_LIBS = build/fuzz/libledger.a build/fuzz/libfxbipc.a \
	    build/fuzz/libconfig.a build/fuzz/libbreaker.a
fuzz: deps
	@dpkg -s clang libclang-rt-14-dev >/dev/null 2>&1 || \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang \
			libclang-rt-14-dev
	@$(MAKE) -s --no-print-directory BUILD=build/fuzz CC=clang OPT="-O1 -g" \
		SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FUZZ_OBJ) \
		$(FUZZ_LIBS)
	@for t in $(FUZZ_TARGETS); do \
		echo "== $$t ($(FUZZ_SECONDS) s)"; \
		clang $(CPPFLAGS) -Ictl $(shell pkg-config --cflags $(PKGS)) \
			-std=c11 -g -O1 -fsanitize=fuzzer $(FUZZ_SAN) \
			tests/fuzz/$$t.c $(FUZZ_OBJ) $(FUZZ_LIBS) $(LDLIBS) \
			-o build/fuzz/$$t || exit 1; \
		mkdir -p build/fuzz/$$t.corpus; \
		seeds=tests/fuzz/corpus/$$t; [ -d $$seeds ] || seeds=; \
		build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) \
			-close_fd_mask=3 -print_final_stats=1 \
			-artifact_prefix=build/fuzz/$$t- \
			build/fuzz/$$t.corpus $$seeds >build/fuzz/$$t.log 2>&1 || \
			{ tail -n 40 build/fuzz/$$t.log; \
			  echo "fuzz: $$t found a bug"; exit 1; }; \
		grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed)' \
			build/fuzz/$$t.log; \
		[ -z "$$(ls build/fuzz/$$t-crash-* build/fuzz/$$t-leak-* \
			build/fuzz/$$t-timeout-* build/fuzz/$$t-oom-* \
			2>/dev/null)" ] || { echo "fuzz: $$t found a bug"; exit 1; }; \
	done

# tests/soak.sh: 100 SIGKILL rounds, 10 minutes of mixed load with a
# tick flood, 1,000 clients at once, 100 rounds of a three-node cluster
# losing its leader (about 30 minutes; not in make test).  SOAK_ROUNDS,
# SOAK_MINUTES, SOAK_CLIENTS, SOAK_CLUSTER_ROUNDS shorten it.
soak: all
	@sh tests/soak.sh $(BUILD)

deps:
	@dpkg -s $(DEB_PKGS) >/dev/null 2>&1 || { \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			$(DEB_PKGS); }
	@$(MAKE) --no-print-directory nng

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- client library (ipc/fxb_client) ----
# libfxbclient is what core banking links: ipc/fxb_client*.c and the TLS
# file reader it shares with fxbreakerctl (ipc/ipc_tls.c, its symbol
# hidden, as are the functions the fxb_client*.c files share, marked
# FXB_CLIENT_INTERNAL in ipc/fxb_client_impl.h: the .so exports
# fxb_client.h's fxb_client_* only), on nng and jansson (no
# libbreaker: it uses only the error numbers of fxb.h).  The same
# position-independent objects serve both the .so and the .a, so the
# archive also links into a caller's own shared library.
#
# The .so is versioned as a Debian library is: the file
# libfxbclient.so.1.2.0 says SONAME libfxbclient.so.1 (the name a program
# linked against it asks the dynamic linker for), the link
# libfxbclient.so.1 finds it at run time and libfxbclient.so (the
# development link) is what -lfxbclient finds at link time.  The major
# number changes only when the ABI breaks (a program built against .so.1
# would misbehave): then .so.2 can be installed beside it.  The minor
# grows when a function is added.
#
# The fxb_client*.o are in libfxbipc.a too (every ipc/*.c is): a program
# that links that archive and calls the client needs nng, as client_test
# does.
#
# The .so carries nng inside (build/nng's libnng.a, built -fPIC), its
# symbols hidden (--exclude-libs): a caller gets the #1518 fix without
# installing anything, and a caller that links its own nng does not clash
# with ours.  The .a cannot carry another archive: its users link nng
# themselves (-lnng in the .pc, which is Debian's libnng-dev when
# installed; our build/nng/prefix/lib/libnng.a in tests/e2e_client.sh).
#
# Two .pc files from one template: BUILD/fxbreaker-client.pc describes
# this tree (the libraries in BUILD, the header in ipc/), for a program
# built against an uninstalled tree; `make install` writes the installed
# one, PREFIX/lib and PREFIX/include (below).  The build tree's is
# rewritten only when its text changes, so an unchanged one relinks
# nothing.
FXB_CLIENT_SOMAJOR  = 1
FXB_CLIENT_SONAME   = libfxbclient.so.$(FXB_CLIENT_SOMAJOR)
FXB_CLIENT_SOFILE   = $(FXB_CLIENT_SONAME).2.0
FXB_CLIENT_LIBS     = $(NNG_LIBS) $(shell pkg-config --libs jansson \
		      2>/dev/null || echo -ljansson) -lpthread \
		      $(if $(NNG_DEP),-Wl$(comma)--exclude-libs$(comma)libnng.a)
comma = ,
# ipc/fxb_client*.c (the API, its fail policies, its JSON, its transport)
# and the TLS files' reader it shares with fxbreakerctl (ipc/ipc_tls.c,
# hidden in the .so).
FXB_CLIENT_PIC      = $(BUILD)/pic/ipc/fxb_client.o \
		      $(BUILD)/pic/ipc/fxb_client_policy.o \
		      $(BUILD)/pic/ipc/fxb_client_wire.o \
		      $(BUILD)/pic/ipc/fxb_client_call.o $(BUILD)/pic/ipc/ipc_tls.o
# The version is written once, in breaker/fxb.h (fxbreakerd -V says it).
FXB_VERSION := $(shell sed -n 's/^\#define FXB_VERSION "\([^"]*\)".*/\1/p' \
		 breaker/fxb.h)

all: $(BUILD)/libfxbclient.a $(BUILD)/$(FXB_CLIENT_SOFILE) \
	$(BUILD)/$(FXB_CLIENT_SONAME) $(BUILD)/libfxbclient.so \
	$(BUILD)/fxbreaker-client.pc

$(BUILD)/pic/ipc/%.o: ipc/%.c $(NNG_DEP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -c $< -o $@

$(BUILD)/libfxbclient.a: $(FXB_CLIENT_PIC)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/$(FXB_CLIENT_SOFILE): $(FXB_CLIENT_PIC)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,$(FXB_CLIENT_SONAME) $^ \
		$(FXB_CLIENT_LIBS) -o $@

$(BUILD)/$(FXB_CLIENT_SONAME): $(BUILD)/$(FXB_CLIENT_SOFILE)
	ln -sf $(FXB_CLIENT_SOFILE) $@

$(BUILD)/libfxbclient.so: $(BUILD)/$(FXB_CLIENT_SONAME)
	ln -sf $(FXB_CLIENT_SONAME) $@

# fxb_client_pc DEST PREFIX LIBDIR INCLUDEDIR: the template filled in.
fxb_client_pc = sed -e 's|@PREFIX@|$(2)|g' -e 's|@LIBDIR@|$(3)|g' \
	-e 's|@INCLUDEDIR@|$(4)|g' -e 's|@VERSION@|$(FXB_VERSION)|g' \
	ipc/fxbreaker-client.pc.in >$(1)

.PHONY: fxb-client-pc-always
fxb-client-pc-always:

$(BUILD)/fxbreaker-client.pc: ipc/fxbreaker-client.pc.in fxb-client-pc-always
	@mkdir -p $(dir $@)
	@$(call fxb_client_pc,$@.tmp,$(abspath $(BUILD)),$${prefix},$(abspath ipc))
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; \
	else mv $@.tmp $@ && echo "generated $@"; fi
# ---- end of client library ----

# tests/sign_body signs a hand-written command body with fxbreakerctl's
# own code (every ctl object but its main), for the e2e tests.
all: $(BUILD)/tests/sign_body
$(BUILD)/tests/sign_body: $(BUILD)/tests/sign_body.o \
		$(filter-out $(BUILD)/ctl/fxbreakerctl.o,$(CTL_OBJ)) $(LIBS_ALL)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# ---- install (docs/OPERATIONS.md, "Installing and running under systemd") ----
# make install [PREFIX=/usr/local] [DESTDIR=]: the programs, the client
# library (.so, .a, header, .pc), the man pages, the systemd unit, the
# sysusers.d file for the fxbreaker user and group, and the example
# config.  /etc/fxbreaker/fxbreaker.conf is written only when absent: an
# operator's config is never overwritten.  Nothing is built here that
# `make` did not build (install depends on the built files only, so a
# root `make install` after a user's `make` compiles nothing); the .pc
# and the unit, which name PREFIX, are written straight into DESTDIR.
#
# With an empty DESTDIR (a real install) systemd-sysusers then creates
# the user and group, if the machine has it, and ldconfig tells the
# dynamic linker about libfxbclient.so.1 (/usr/local/lib is searched
# through its cache only); with a DESTDIR (a package, a test) that is for
# the package's own scripts.
#
# make uninstall removes exactly what install wrote except
# /etc/fxbreaker (the operator's config and operators file), the state in
# /var/lib/fxbreaker (the ledger, the log key, the checkpoints) and the
# fxbreaker user and group (Debian never removes a system user: files it
# owned would pass to the next account given its uid).
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/fxbreaker
# systemd searches /usr/local/lib/systemd/system and
# /usr/local/lib/sysusers.d as well as /usr/lib's.
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
# The daemon's own defaults and fxbreakerctl's name /etc/fxbreaker,
# whatever PREFIX is.
CONFDIR      = /etc/fxbreaker
INSTALL     ?= install

MAN_PAGES = docs/man/fxbreakerd.8 docs/man/fxbreakerctl.8 \
	    docs/man/fxbreaker.conf.5
MAN_TXT   = $(MAN_PAGES:docs/man/%=$(BUILD)/man/%.txt)
# The documents the man pages send a reader to, for a host without this
# repository, with the board's picture OPERATIONS.md shows and the
# example alert rules it explains.
DOC_FILES = docs/OPERATIONS.md docs/PROTOCOL.md docs/RULES.md \
	    docs/RULES-NOTES.md docs/LEDGER.md docs/board.png \
	    examples/fxbreaker-alerts.yml

# The installed config (built by `all`): the example's rules and notices
# under a [service] for a host (dist/service.conf: /var/lib/fxbreaker,
# /run/fxbreaker), in place of the example's development [service]
# (./run, relative to the directory the daemon starts in), which ends at
# its next "; ----" line; its first lines name the installed file.
$(BUILD)/dist/fxbreaker.conf: $(EXAMPLE_CONF) dist/service.conf
	@mkdir -p $(dir $@)
	awk -v svc=dist/service.conf ' \
		skip && /^; ----/ { skip = 0 } \
		/^\[service\]/ { while ((getline l < svc) > 0) print l; \
			skip = 1; next } \
		!skip' $(EXAMPLE_CONF) | sed \
		-e '1s|^; examples/fxbreaker.conf: an example|; fxbreaker.conf: the installed|' \
		-e 's|build/fxbreakerctl validate examples/|fxbreakerctl validate /etc/fxbreaker/|' \
		>$@.tmp
	@grep -q '^data_dir = /var/lib/fxbreaker$$' $@.tmp || \
		{ echo "$@: [service] not replaced"; rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@
all: $(BUILD)/dist/fxbreaker.conf

# The man pages, linted and rendered as text.  Any mandoc -Tlint message
# fails, except that one of the three cannot find the other two: mandoc
# looks a cross-reference up among the pages installed on this machine,
# and they are installed together (tests/e2e_install.sh lints them again
# there).  Only they are cross-referenced, so the lint does not depend on
# the machine's other manuals.
MAN_XR = Xr (fxbreakerd 8|fxbreakerctl 8|fxbreaker\.conf 5)( \([0-9]+ times\))?$$
.PHONY: man
man: $(MAN_TXT)
$(BUILD)/man/%.txt: docs/man/%
	@mkdir -p $(dir $@)
	@out=$$(mandoc -Tlint $< 2>&1 | grep -Ev 'STYLE: referenced manual not found: $(MAN_XR)'); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi
	mandoc -Tutf8 $< | sed 's/.\x08//g' >$@

# The installed .pc: libdir and includedir under ${prefix} when they are
# under PREFIX, so that pkg-config --define-variable=prefix= moves them.
PC_FILE   = $(LIBDIR)/pkgconfig/fxbreaker-client.pc
PC_LIBDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
PC_INCDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

INSTALL_FROM = $(BUILD)/fxbreakerd $(BUILD)/fxbreakerctl \
	       $(BUILD)/$(FXB_CLIENT_SOFILE) $(BUILD)/libfxbclient.a \
	       $(BUILD)/dist/fxbreaker.conf

.PHONY: install uninstall
install: $(INSTALL_FROM)
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(CONFDIR)
	$(INSTALL) -m 0755 $(BUILD)/fxbreakerd $(DESTDIR)$(SBINDIR)/fxbreakerd
	$(INSTALL) -m 0755 $(BUILD)/fxbreakerctl \
		$(DESTDIR)$(BINDIR)/fxbreakerctl
	$(INSTALL) -m 0644 ipc/fxb_client.h $(DESTDIR)$(INCLUDEDIR)/fxb_client.h
	$(INSTALL) -m 0755 $(BUILD)/$(FXB_CLIENT_SOFILE) \
		$(DESTDIR)$(LIBDIR)/$(FXB_CLIENT_SOFILE)
	ln -sf $(FXB_CLIENT_SOFILE) $(DESTDIR)$(LIBDIR)/$(FXB_CLIENT_SONAME)
	ln -sf $(FXB_CLIENT_SONAME) $(DESTDIR)$(LIBDIR)/libfxbclient.so
	$(INSTALL) -m 0644 $(BUILD)/libfxbclient.a \
		$(DESTDIR)$(LIBDIR)/libfxbclient.a
	$(call fxb_client_pc,$(DESTDIR)$(PC_FILE),$(PREFIX),$(PC_LIBDIR),$(PC_INCDIR))
	chmod 0644 $(DESTDIR)$(PC_FILE)
	$(INSTALL) -m 0644 docs/man/fxbreakerd.8 docs/man/fxbreakerctl.8 \
		$(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 docs/man/fxbreaker.conf.5 $(DESTDIR)$(MANDIR)/man5/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' dist/fxbreakerd.service.in \
		>$(DESTDIR)$(UNITDIR)/fxbreakerd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/fxbreakerd.service
	$(INSTALL) -m 0644 dist/fxbreaker.sysusers \
		$(DESTDIR)$(SYSUSERSDIR)/fxbreaker.conf
	$(INSTALL) -m 0644 $(BUILD)/dist/fxbreaker.conf \
		$(DESTDIR)$(DOCDIR)/fxbreaker.conf.example
	$(INSTALL) -m 0644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/
	@if [ -e $(DESTDIR)$(CONFDIR)/fxbreaker.conf ]; then \
		echo "kept $(DESTDIR)$(CONFDIR)/fxbreaker.conf (compare it with $(DOCDIR)/fxbreaker.conf.example)"; \
	else \
		echo "$(INSTALL) -m 0644 $(BUILD)/dist/fxbreaker.conf $(DESTDIR)$(CONFDIR)/fxbreaker.conf"; \
		$(INSTALL) -m 0644 $(BUILD)/dist/fxbreaker.conf \
			$(DESTDIR)$(CONFDIR)/fxbreaker.conf; \
	fi
	@if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
		echo "systemd-sysusers $(SYSUSERSDIR)/fxbreaker.conf"; \
		systemd-sysusers $(SYSUSERSDIR)/fxbreaker.conf; \
	fi
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then \
		echo ldconfig; ldconfig; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/fxbreakerd $(DESTDIR)$(BINDIR)/fxbreakerctl \
		$(DESTDIR)$(INCLUDEDIR)/fxb_client.h \
		$(DESTDIR)$(LIBDIR)/$(FXB_CLIENT_SOFILE) \
		$(DESTDIR)$(LIBDIR)/$(FXB_CLIENT_SONAME) \
		$(DESTDIR)$(LIBDIR)/libfxbclient.so \
		$(DESTDIR)$(LIBDIR)/libfxbclient.a \
		$(DESTDIR)$(PC_FILE) \
		$(DESTDIR)$(MANDIR)/man8/fxbreakerd.8 \
		$(DESTDIR)$(MANDIR)/man8/fxbreakerctl.8 \
		$(DESTDIR)$(MANDIR)/man5/fxbreaker.conf.5 \
		$(DESTDIR)$(UNITDIR)/fxbreakerd.service \
		$(DESTDIR)$(SYSUSERSDIR)/fxbreaker.conf \
		$(DESTDIR)$(DOCDIR)/fxbreaker.conf.example \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES)))
	rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then \
		echo ldconfig; ldconfig; \
	fi
	@echo "uninstall: kept $(DESTDIR)$(CONFDIR) (the config, the operators file), $(DESTDIR)/var/lib/fxbreaker (the ledger, its log key, the checkpoints) and the fxbreaker user and group: remove them by hand if they are no longer wanted"
# ---- end of install ----

# tests/http_serve is ipc/ipc_http.c alone with fixed routes and a stream,
# for tests/e2e_http.sh.
all: $(BUILD)/tests/http_serve
