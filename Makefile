# lua-anthropic: build the C core, run the tests, run the demo.
# `make test` and `make demo` do all set-up on a fresh Debian machine (see `make deps`).

# LUA: the VM to build for and test under: lua5.4 (the default, into build/), lua5.3, lua5.1 or
# luajit (into build-lua5.3/, build-lua5.1/, build-luajit/). Its headers are found through
# pkg-config under the same name; `make build LUA=...` installs the VM's Debian packages when
# pkg-config does not know it (see VM_PKGS and `make deps`). LUA_INCDIR overrides the headers.
LUA        ?= lua5.4
PKG_CONFIG ?= pkg-config
CC         ?= cc
BUILD      ?= $(if $(filter lua5.4,$(LUA)),build,build-$(LUA))

VM_PKGS_lua5.4 = lua5.4 liblua5.4-dev
VM_PKGS_lua5.3 = lua5.3 liblua5.3-dev
VM_PKGS_lua5.1 = lua5.1 liblua5.1-0-dev
VM_PKGS_luajit = luajit libluajit-5.1-dev
VM_PKGS = $(VM_PKGS_$(LUA))

LUA_INCDIR ?=
LUA_CFLAGS  := $(if $(LUA_INCDIR),-I$(LUA_INCDIR),$(shell $(PKG_CONFIG) --cflags $(LUA) 2>/dev/null))
CURL_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)
CURL_LIBS   := $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null)

WARN    = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -fPIC $(WARN) $(CFLAGS) $(SANITIZE)

# Pure parts: no Lua headers, unit-tested alone by spec/c/test_*.c.
PURE_SRC = $(filter $(wildcard src/*.c),src/retry.c src/dotenv.c src/secret.c src/sse.c src/lines.c src/jtext.c src/pollset.c src/loopback.c src/platform.c)
# Lua bindings and the libcurl engine.
CORE_SRC = $(wildcard src/*.c)
CORE_OBJ = $(CORE_SRC:src/%.c=$(BUILD)/obj/%.o)
CORE_SO  = $(BUILD)/anthropic/core.so

CTESTS = $(patsubst spec/c/%.c,$(BUILD)/%,$(wildcard spec/c/test_*.c)) $(BUILD)/test_jtext_portable \
  $(BUILD)/test_pollset_poll

# lua-sec and openssl: the emulator's HTTPS (spec/tls_spec.lua, make test-tls); nginx: an HTTP/2
# TLS terminator for spec/leak_spec.lua (helpers/terminator.lua); neovim and LuaJIT's headers:
# examples/nvim in a real editor (spec/nvim_spec.lua, with the LuaJIT core Neovim loads);
# chromium: the HTML report opened headless (spec/report_html_spec.lua).
DEB_PKGS = lua5.4 liblua5.4-dev $(if $(filter lua5.4,$(LUA)),,$(VM_PKGS)) libcurl4-openssl-dev lua-cjson lua-busted lua-socket lua-sec openssl nginx lua-check chromium pkg-config gcc make neovim $(VM_PKGS_luajit)

.PHONY: all deps build ctest lint test test-tls test-poll demo clean fuzz fuzz-deps fuzz-smoke valgrind install sanitize

all: build

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null || exit 1; \
	  else \
	    echo "missing Debian packages; run as root:"; echo "  apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

# Another VM's headers are installed first when pkg-config does not know them (the sub-make then
# reads their flags).
build:
	@if [ -z "$(LUA_INCDIR)" ] && ! $(PKG_CONFIG) --exists $(LUA) 2>/dev/null; then \
	  if [ -z "$(VM_PKGS)" ]; then echo "LUA=$(LUA): not one of lua5.4, lua5.3, lua5.1, luajit (or set LUA_INCDIR)"; exit 1; fi; \
	  $(MAKE) --no-print-directory deps DEB_PKGS="$(VM_PKGS) libcurl4-openssl-dev pkg-config gcc make" || exit 1; \
	fi
	@$(MAKE) --no-print-directory $(CORE_SO)

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) $(CURL_CFLAGS) -c $< -o $@

$(CORE_SO): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(SANITIZE) -o $@ $(CORE_OBJ) $(CURL_LIBS) -pthread

$(BUILD)/test_%: spec/c/test_%.c $(PURE_SRC) $(wildcard src/*.h) spec/c/check.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ $< $(PURE_SRC) -pthread

# pollset.c's poll(2) thread and platform.c's fallbacks (what other systems build), here on Linux.
$(BUILD)/test_pollset_poll: spec/c/test_pollset.c $(PURE_SRC) $(wildcard src/*.h) spec/c/check.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PORTABLE) -Isrc -o $@ $< $(PURE_SRC) -pthread

# jtext.c again without SSE2, so the word-at-a-time scan other machines use is tested here too.
$(BUILD)/test_jtext_portable: spec/c/test_jtext.c $(PURE_SRC) $(wildcard src/*.h) spec/c/check.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -U__SSE2__ -Isrc -o $@ $< $(PURE_SRC)

ctest: $(CTESTS)

# luacheck, and (when luajit is there) a parse of what must run on LuaJIT too: the library and the
# specs (the emulator and the command line may use 5.3+ syntax; docs/embedding.md).
lint:
	luacheck -q .
	@if command -v luajit >/dev/null 2>&1; then \
	  for f in $$(find lua/anthropic -name '*.lua' -not -path '*/emulator/*' -not -path '*/cli/*') spec/*.lua spec/helpers/*.lua; do \
	    luajit -bl "$$f" >/dev/null || { echo "$$f: does not parse under LuaJIT"; exit 1; }; done; fi

# The whole suite: C unit tests and busted under $(LUA) (Lua 5.4 unless LUA=lua5.3, lua5.1 or
# luajit; the emulator and the CLI always run under lua5.4); the last line is the total.
test: deps
	@$(MAKE) --no-print-directory build ctest
	@$(if $(filter lua5.4,$(LUA)),,$(MAKE) --no-print-directory build LUA=lua5.4 BUILD=build) # (the emulator's)
	@$(if $(filter luajit,$(LUA)),,$(MAKE) --no-print-directory build LUA=luajit BUILD=build-luajit) # (Neovim's)
	@$(MAKE) --no-print-directory lint
	@LUA=$(LUA) sh spec/run-tests.sh $(CTESTS)

# The streaming, batches and fault-matrix specs again, over HTTPS: every emulator serves a
# certificate made for this run, whose CA the clients trust through ANTHROPIC_CA_FILE
# (spec/run-tls.sh). The last line is the total, as for `make test`.
TLS_SPECS = spec/stream_spec.lua spec/batches_spec.lua spec/batch_results_spec.lua spec/fault_matrix_spec.lua
test-tls: deps
	@$(MAKE) --no-print-directory build
	@LUA=$(LUA) TLS_SPECS="$(TLS_SPECS)" sh spec/run-tls.sh

# What a system without epoll, getrandom and explicit_bzero builds (src/platform.h), on Linux: the
# core with the poll(2) pollset thread, /dev/urandom and the volatile wipe, into build-poll/, then
# the C unit tests built the same way, and the specs of the pollable descriptor and the tasks
# against that core.
PORTABLE = -DANTHROPIC_FORCE_POLL -DANTHROPIC_FORCE_PORTABLE
POLL_BUILD = build-poll
test-poll: deps
	@$(MAKE) --no-print-directory build BUILD=$(POLL_BUILD) CFLAGS="$(CFLAGS) $(PORTABLE)"
	@$(MAKE) --no-print-directory ctest BUILD=$(POLL_BUILD) CFLAGS="$(CFLAGS) $(PORTABLE)"
	@for t in $(patsubst $(BUILD)/%,$(POLL_BUILD)/%,$(CTESTS)); do $$t >$$t.log 2>&1 || { cat $$t.log; exit 1; }; done; \
	  echo "C unit tests with the fallbacks: passed"
	@$(MAKE) --no-print-directory build LUA=lua5.4 BUILD=build # (the emulator's)
	@$(LUA) "$$(command -v busted)" --cpath="./$(POLL_BUILD)/?.so" -o TAP spec/pollfd_spec.lua spec/tasks_spec.lua \
	  > $(POLL_BUILD)/busted.log 2>&1; rc=$$?; tail -n 1 $(POLL_BUILD)/busted.log; \
	  grep -E -A12 "^not ok" $(POLL_BUILD)/busted.log; exit $$rc

demo: deps
	@$(MAKE) --no-print-directory build
	@LUA=$(LUA) sh examples/run-demo.sh

# The whole busted suite against a core built with ASan and UBSan (any report fails the run).
# lua5.4 itself is not instrumented, so the ASan runtime is preloaded; leaks are valgrind's job.
# Specs tagged #huge measure memory, which ASan's quarantine makes meaningless: they are left out.
SAN_BUILD = build-sanitize
sanitize: deps
	@$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) CFLAGS="-O1 -g -fno-omit-frame-pointer" \
	  SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all" build
	@LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(LUA) "$$(command -v busted)" --cpath="./$(SAN_BUILD)/?.so" --exclude-tags=huge -o TAP $(SANITIZE_SPECS) \
	  > $(SAN_BUILD)/busted.log 2>&1; \
	  rc=$$?; tail -n 3 $(SAN_BUILD)/busted.log; \
	  if grep -qE "ERROR: AddressSanitizer|runtime error:" $(SAN_BUILD)/busted.log; then \
	    grep -E -A30 "ERROR: AddressSanitizer|runtime error:" $(SAN_BUILD)/busted.log | head -60; exit 1; fi; \
	  grep -E "^not ok" $(SAN_BUILD)/busted.log; exit $$rc

# The fault matrix in docs/errors-and-retries.md, from what spec/fault_matrix_spec.lua observes
# (refused while any cell fails; `make test` fails when the committed table differs).
.PHONY: fault-matrix
fault-matrix: deps
	@$(MAKE) --no-print-directory build
	@ANTHROPIC_WRITE_MATRIX=$(BUILD)/fault-matrix.tsv $(LUA) "$$(command -v busted)" -o TAP \
	  spec/fault_matrix_spec.lua > $(BUILD)/fault-matrix.log 2>&1 || \
	  { grep -E -A12 "^not ok" $(BUILD)/fault-matrix.log; exit 1; }
	@$(LUA) spec/fault-matrix.lua $(BUILD)/fault-matrix.tsv

# memcheck over spec files (VALGRIND_SPECS to choose): no leak or memory error from src/.
valgrind: deps
	@$(MAKE) --no-print-directory deps DEB_PKGS=valgrind
	@$(MAKE) --no-print-directory build
	@LUA=$(LUA) sh spec/valgrind.sh

# Side by side against raw libcurl, luasocket and the TypeScript SDK on a local nginx; writes the
# table into docs/performance.md (BENCH_* settings: see bench/run.sh). Never part of `make test`.
.PHONY: bench
bench: deps
	@$(MAKE) --no-print-directory deps DEB_PKGS="nginx libcjson-dev valgrind"
	@$(MAKE) --no-print-directory build
	@LUA=$(LUA) BUILD=$(BUILD) bash bench/run.sh

# Only the peak-memory check of `make bench`: one answer at the max_body cap (64 MiB; MiB as
# BENCH_BODY_MIB), peak RSS against the client's baseline, with and without Content-Length.
.PHONY: bench-body
bench-body: build
	@BUILD=$(BUILD) LUA=$(LUA) $(LUA) bench/peak_body.lua $(BENCH_BODY_MIB)

# Only the batch-results memory check of `make bench`: peak RSS of client.batches:results for 100
# and 100,000 results, against the whole-body approach it replaced (bench/peak_results.lua).
.PHONY: bench-results
bench-results: build
	@BUILD=$(BUILD) LUA=$(LUA) $(LUA) bench/peak_results.lua docs/performance.md

# examples/host: a C program with a 60 Hz frame loop embedding $(LUA) (make host LUA=luajit for
# LuaJIT) into $(BUILD)/host. `make host-bench` runs it against the emulator on 5.4 and LuaJIT and
# writes the figures into docs/embedding.md (bench/host.lua). Never part of `make test`.
.PHONY: host host-bench
host: build
	@$(MAKE) --no-print-directory $(BUILD)/host

$(BUILD)/host: examples/host/host.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -o $@ $< $$($(PKG_CONFIG) --cflags --libs $(LUA)) -lm -ldl -pthread

host-bench:
	@$(MAKE) --no-print-directory host LUA=lua5.4
	@$(MAKE) --no-print-directory host LUA=luajit
	@lua5.4 bench/host.lua docs/embedding.md

# Token-aware pacing against the emulator's rate limits (also the last step of `make bench`):
# the figures go into docs/performance.md (bench/pacing.lua).
.PHONY: bench-pacing
bench-pacing: build
	@$(LUA) bench/pacing.lua docs/performance.md

# The official TypeScript SDK (@anthropic-ai/sdk, pinned in conformance/package.json, installed
# into conformance/node_modules) against the emulator: conformance/checks.mjs; the last line is
# "N passed, N failed".
.PHONY: conformance
conformance: deps
	@# node and npm may come from Debian (nodejs, npm) or from a nodejs build that bundles npm
	@command -v node >/dev/null && command -v npm >/dev/null || \
	  $(MAKE) --no-print-directory deps DEB_PKGS="nodejs npm"
	@$(MAKE) --no-print-directory build
	@want=$$(sed -n 's/.*"@anthropic-ai\/sdk": "\(.*\)".*/\1/p' conformance/package.json); \
	  have=$$(node -e "try{console.log(require('./conformance/node_modules/@anthropic-ai/sdk/package.json').version)}catch{}"); \
	  if [ "$$have" != "$$want" ]; then \
	    echo "conformance: installing @anthropic-ai/sdk@$$want into conformance/node_modules"; \
	    (cd conformance && npm install --no-package-lock --no-audit --no-fund --loglevel=error >/dev/null) || exit 1; \
	  fi
	@$(LUA) conformance/run.lua

# libFuzzer targets for the pure parsers (clang with ASan+UBSan; any UB report stops the run),
# FUZZ_SECONDS each.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
FUZZERS = $(patsubst spec/fuzz/fuzz_%.c,$(BUILD)/fuzz_%,$(wildcard spec/fuzz/fuzz_*.c))

$(BUILD)/fuzz_%: spec/fuzz/fuzz_%.c $(PURE_SRC) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -Isrc -o $@ $< $(PURE_SRC)

# The query builder is Lua: this one embeds Lua 5.4 (loading lua/anthropic/query.lua at run time)
# and checks URLs with libcurl. Flags are read when the recipe runs, after fuzz-deps.
$(BUILD)/fuzz_query: spec/fuzz/fuzz_query.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $$($(PKG_CONFIG) --cflags lua5.4 libcurl) -DAE_LUA_DIR='"$(CURDIR)/lua"' -o $@ $< \
	  $$($(PKG_CONFIG) --libs lua5.4 libcurl) -lm

# The JSON decoder builds Lua values: this one embeds Lua 5.4, checks it against lua-cjson and
# writes what it decoded back through the encoder.
$(BUILD)/fuzz_json: spec/fuzz/fuzz_json.c src/ljson.c src/ljsonenc.c src/jtext.c $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $$($(PKG_CONFIG) --cflags lua5.4) -Isrc -o $@ $< src/ljson.c src/ljsonenc.c src/jtext.c \
	  $$($(PKG_CONFIG) --libs lua5.4) -lm

# The stream accumulator is Lua: this one embeds Lua 5.4 with the C core linked in (JSON, text
# buffers), loads lua/anthropic/stream.lua and checks it with spec/fuzz/fuzz_stream.lua.
$(BUILD)/fuzz_stream: spec/fuzz/fuzz_stream.c spec/fuzz/fuzz_stream.lua $(CORE_SRC) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $$($(PKG_CONFIG) --cflags lua5.4 libcurl) -Isrc -DAE_LUA_DIR='"$(CURDIR)/lua"' \
	  -DAE_FUZZ_DIR='"$(CURDIR)/spec/fuzz"' -o $@ $< $(CORE_SRC) $$($(PKG_CONFIG) --libs lua5.4 libcurl) -lm -lpthread

# The organization-file loader and validator are Lua: this one embeds Lua 5.4 (with a capped
# allocator), loads lua/anthropic/reconcile/dsl.lua and checks it with spec/fuzz/fuzz_dsl.lua.
$(BUILD)/fuzz_dsl: spec/fuzz/fuzz_dsl.c spec/fuzz/fuzz_dsl.lua
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $$($(PKG_CONFIG) --cflags lua5.4) -DAE_LUA_DIR='"$(CURDIR)/lua"' -DAE_FUZZ_DIR='"$(CURDIR)/spec/fuzz"' \
	  -o $@ $< $$($(PKG_CONFIG) --libs lua5.4) -lm

# The emulator's HTTP request parser is Lua: this one embeds Lua 5.4, loads
# lua/anthropic/emulator/http.lua and checks read_request with spec/fuzz/fuzz_http.lua.
$(BUILD)/fuzz_http: spec/fuzz/fuzz_http.c spec/fuzz/fuzz_http.lua lua/anthropic/emulator/http.lua
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $$($(PKG_CONFIG) --cflags lua5.4) -DAE_LUA_DIR='"$(CURDIR)/lua"' -DAE_FUZZ_DIR='"$(CURDIR)/spec/fuzz"' \
	  -o $@ $< $$($(PKG_CONFIG) --libs lua5.4) -lm

fuzz-deps:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(DEB_PKGS) clang libclang-rt-14-dev"

# New cases go to build/corpus (the first directory); spec/fuzz/NAME is the committed seed corpus.
fuzz: fuzz-deps $(FUZZERS)
	@for f in $(FUZZERS); do n=$${f#$(BUILD)/fuzz_}; mkdir -p $(BUILD)/corpus/$$n; \
	  echo "fuzzing $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(BUILD)/ $(BUILD)/corpus/$$n spec/fuzz/$$n \
	    || exit 1; done

# CI's short run: every fuzzer for 10 s.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

# Used by `luarocks make` (see the rockspec); INST_* are the rock tree's directories.
INST_LIBDIR ?= /usr/local/lib/lua/5.4
INST_LUADIR ?= /usr/local/share/lua/5.4
INST_BINDIR ?= /usr/local/bin
install: build
	install -d $(DESTDIR)$(INST_LIBDIR)/anthropic $(DESTDIR)$(INST_LUADIR) $(DESTDIR)$(INST_BINDIR)
	install -m 755 $(CORE_SO) $(DESTDIR)$(INST_LIBDIR)/anthropic/core.so
	cp -R lua/anthropic $(DESTDIR)$(INST_LUADIR)/
	install -m 755 bin/anthropic $(DESTDIR)$(INST_BINDIR)/anthropic

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(POLL_BUILD) build-lua5.3 build-lua5.1 build-luajit
