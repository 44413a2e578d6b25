# Freakinbeats: build, run, test and benchmark.
#
#   make run     install what is missing, build, serve in the foreground
#   make test    install what is missing, build, run every test
#   make bench   build a 100k-listing shop and measure every route
#
# Kore itself is built from Debian's shipped sources with our patches
# (src/kore/kore.mk).  Our module and the CLI share the Kore-free core.

CC	?= cc
BUILD	:= build
WARN	:= -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
	   -Wshadow -Wpointer-arith -Wcast-qual -Wsign-compare
CFLAGS_BASE := -std=c99 -D_GNU_SOURCE -O2 -g $(WARN) -Isrc -I/usr/include/lua5.4
LIBS	:= -lsqlite3 -lcrypto -lm -lpthread -ljansson -llua5.4 -lcurl
SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer

DEB_DEPS := gcc make libsqlite3-dev libjansson-dev liblua5.4-dev \
	    libssl-dev openssl python3 curl wrk sqlite3
# The browser tests: Debian's Chromium, driven from Node.js (npm comes
# with it) by playwright-core; tests/browser/package-lock.json pins it.
# Only `make test` installs them (a target-specific variable that deps
# inherits), so `make run` on a server never pulls in a browser.
TEST_DEB_DEPS := chromium nodejs
BROWSER_DEPS := tests/browser/node_modules/.package-lock.json
test: DEPS_EXTRA = $(TEST_DEB_DEPS)

include src/kore/kore.mk

# The Kore-free core, shared by the module, the CLI and the unit tests.
CORE_SRC := src/err.c src/buf.c src/log.c src/timeutil.c src/env.c \
	    src/config.c src/params.c src/db.c src/db_migrate.c \
	    src/listing.c src/listing_page.c src/tls.c src/query.c \
	    src/rank.c src/inactive.c src/search.c src/search_text.c \
	    src/csv.c src/import.c src/facets.c \
	    src/fts.c src/fts_build.c src/pacer.c src/discogs.c src/json_arena.c \
	    src/sync_fetch.c src/sync_stage.c \
	    src/sync_apply.c src/sync_run.c src/enrich.c \
	    src/row.c src/script.c src/script_api.c src/hook.c src/hook_view.c \
	    src/rules.c \
	    src/rules_default.c
# Files that run inside Kore.
KORE_SIDE := src/app.c src/ctx.c src/reply.c src/cache.c src/metrics.c \
	     src/stream.c src/api.c src/api_catalog.c src/sync.c \
	     src/api_sync.c src/api_rules.c
# The plugin host (src/public/freakinbeats-plugin.h is its whole ABI).
CORE_SRC += src/plugin_load.c
KORE_SIDE += src/plugin.c src/plugin_route.c src/plugin_api.c \
	     src/plugin_stream.c src/auth.c
# The storefront: pages and static files (src/web/), the admin login.
KORE_SIDE += src/pages.c src/admin.c
HEADERS := $(wildcard src/*.h)
PLUGIN_H := src/public/freakinbeats-plugin.h
HEADERS += $(PLUGIN_H)

MODULE	:= $(BUILD)/freakinbeats.so
CLI	:= $(BUILD)/freakinbeats
CORE_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/core/%.o)
MOD_OBJ	:= $(CORE_SRC:src/%.c=$(BUILD)/mod/%.o) \
	   $(KORE_SIDE:src/%.c=$(BUILD)/mod/%.o)
ASAN_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/asan/%.o)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_ASAN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/asan_%)
TOOLS	:= $(BUILD)/tests/gen_listings $(BUILD)/tests/bench_rules

.PHONY: all run test bench deps clean check-style
.SECONDARY: $(CORE_OBJ) $(ASAN_OBJ) $(MOD_OBJ)

all: $(KORE_BIN) $(MODULE) $(CLI)

# Plugins: each plugins/NAME/ folder becomes build/plugins/NAME.so, built
# against the public header only (no -Isrc), so an ABI break fails `make
# all`.  Fixture plugins for the tests: build/tests/plugins/NAME.so.
PLUGIN_DIRS := $(patsubst plugins/%/,%,$(wildcard plugins/*/))
PLUGINS	:= $(PLUGIN_DIRS:%=$(BUILD)/plugins/%.so)
FIXTURE_PLUGINS := $(patsubst tests/fixtures/plugins/%.c,\
		   $(BUILD)/tests/plugins/%.so,\
		   $(wildcard tests/fixtures/plugins/*.c))
PLUGIN_CFLAGS := -std=c99 -D_GNU_SOURCE -O2 -g $(WARN) -Isrc/public \
		 -fPIC -fvisibility=hidden
PLUGIN_LIBS := -ljansson
PREFIX	?= /usr/local

all: $(PLUGINS)
test: $(FIXTURE_PLUGINS)
fixtures: $(FIXTURE_PLUGINS)

define plugin_rule
$(BUILD)/plugins/$(1).so: $(wildcard plugins/$(1)/*.c) $(PLUGIN_H)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(PLUGIN_CFLAGS) -shared -o $$@ \
	    $(wildcard plugins/$(1)/*.c) $$(PLUGIN_LIBS)
endef
$(foreach p,$(PLUGIN_DIRS),$(eval $(call plugin_rule,$(p))))

$(BUILD)/tests/plugins/%.so: tests/fixtures/plugins/%.c $(PLUGIN_H)
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $< $(PLUGIN_LIBS)

$(BUILD)/tests/test_plugin $(BUILD)/tests/asan_test_plugin: \
    $(FIXTURE_PLUGINS)

# make install: the plugin header, for plugins built out of the tree.
install-header: $(PLUGIN_H)
	install -d $(DESTDIR)$(PREFIX)/include
	install -m 644 $(PLUGIN_H) $(DESTDIR)$(PREFIX)/include/
install: install-header

.PHONY: fixtures install install-header

run: deps all
	@mkdir -p conf/cert
	exec $(KORE_BIN) -f -n -r -c kore.conf

test: deps all $(UNIT_BIN) $(UNIT_ASAN) $(TOOLS) $(BROWSER_DEPS)
	@tests/run.sh

# playwright-core and axe-core from the npm registry, as locked.
$(BROWSER_DEPS): tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm install --no-audit --no-fund
	@touch $@

bench: deps all $(TOOLS)
	@tests/bench/run.sh

deps:
	@missing=""; for p in $(DEB_DEPS) $(KORE_DEB_DEPS) $(DEPS_EXTRA); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q \
		    $$missing; \
	fi

$(MODULE): $(MOD_OBJ)
	$(CC) -shared -o $@ $(MOD_OBJ) $(LIBS) $(PLUGIN_LIBS)

$(BUILD)/mod/%.o: src/%.c $(HEADERS) $(KORE_BIN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(KORE_CFLAGS) -DFB_KORE_MODULE -fPIC -c -o $@ $<

CLI_SRC	:= src/cli.c src/cli_progress.c src/cli_import.c src/cli_rules.c \
	   src/cli_sync.c

$(CLI): $(CLI_SRC) src/cli.h $(CORE_OBJ)
	$(CC) $(CFLAGS_BASE) -o $@ $(CLI_SRC) $(CORE_OBJ) $(LIBS)

$(BUILD)/core/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -c -o $@ $<

$(BUILD)/asan/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(SAN) -c -o $@ $<

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/test.h $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -Itests/unit -o $@ $< $(CORE_OBJ) $(LIBS)

$(BUILD)/tests/asan_test_%: tests/unit/test_%.c tests/unit/test.h $(ASAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(SAN) -Itests/unit -o $@ $< $(ASAN_OBJ) $(LIBS)

$(BUILD)/tests/gen_listings: tests/bench/gen_listings.c $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $< $(CORE_OBJ) $(LIBS)

$(BUILD)/tests/bench_rules: tests/bench/bench_rules.c $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $< $(CORE_OBJ) $(LIBS)

check-style:
	@tests/check_style.sh

clean:
	rm -rf $(BUILD)
