# Build Debian's Kore 4.1 (sources from the `kore` package, /usr/share/kore)
# with our patches, flavour TASKS=1 CURL=1.  Included by the top-level
# Makefile; all paths are relative to the repository root.  See README.md.
#
# Exports:
#   KORE_SRC       patched copy of /usr/share/kore
#   KORE_BIN       the kore binary to run our modules with
#   KORE_FEATURES  feature flags file written by the Kore build
#   KORE_CFLAGS    flags every module .so must be compiled with
#   KORE_DEB_DEPS  Debian packages needed to build Kore
# Make anything compiled with $(KORE_CFLAGS) depend on $(KORE_BIN).

# Keep the includer's default goal (the rules below must not become it).
KORE_SAVED_GOAL := $(.DEFAULT_GOAL)

KORE_DIR      := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
KORE_DEB_SRC  := /usr/share/kore
KORE_SRC      := build/kore-src
KORE_BIN      := build/kore
KORE_FLAVOR   := TASKS=1 CURL=1
KORE_PATCHES  := $(sort $(wildcard $(KORE_DIR)/patches/*.patch))
KORE_STAMP    := $(KORE_SRC)/.patched
KORE_FEATURES := $(KORE_SRC)/kore.features
KORE_DEB_DEPS := kore build-essential dpkg-dev patch libssl-dev \
		 libcurl4-openssl-dev

# What $(KORE_FLAVOR) writes to kore.features on Debian 12; only used
# until the build has produced the real file.
KORE_FEATURES_DEFAULT := -DKORE_USE_TASKS -DKORE_USE_CURL

# Deferred (=) on purpose: read the features of the Kore we built when
# a recipe runs.  -D_FILE_OFFSET_BITS=64 matches Kore's own CFLAGS.
KORE_CFLAGS = -I$(KORE_SRC)/include -D_FILE_OFFSET_BITS=64 \
	$(or $(shell cat $(KORE_FEATURES) 2>/dev/null),$(KORE_FEATURES_DEFAULT))

# Fresh copy + patches whenever a patch, this file or the package changes.
$(KORE_STAMP): $(KORE_PATCHES) $(KORE_DIR)/kore.mk \
		$(wildcard $(KORE_DEB_SRC)/Makefile)
	@test -f $(KORE_DEB_SRC)/Makefile || { echo "no $(KORE_DEB_SRC)," \
		"apt-get install $(KORE_DEB_DEPS)" >&2; exit 1; }
	rm -rf $(KORE_SRC)
	mkdir -p $(dir $(KORE_SRC))
	cp -R $(KORE_DEB_SRC) $(KORE_SRC)
	for p in $(KORE_PATCHES); do \
		echo "applying $$p"; \
		patch -s -p1 --batch --forward -d $(KORE_SRC) < $$p || exit 1; \
	done
	touch $@

# Only the `kore` target: plain `make` wants kodev/, which Debian does not
# ship.  Command-line variables and LDFLAGS of the outer make must not leak
# into Kore's Makefile (it appends to LDFLAGS).
$(KORE_BIN): $(KORE_STAMP) $(KORE_PATCHES) $(KORE_DIR)/kore.mk
	env -u MAKEFLAGS -u MFLAGS -u LDFLAGS \
		make -C $(KORE_SRC) -j2 $(KORE_FLAVOR) kore
	cp $(KORE_SRC)/kore $@.tmp && mv -f $@.tmp $@
	@echo "kore: $$($@ -v), features: $$(cat $(KORE_FEATURES))"

$(KORE_FEATURES): $(KORE_BIN)

.PHONY: kore-clean
kore-clean:
	rm -rf $(KORE_SRC) $(KORE_BIN)

.DEFAULT_GOAL := $(KORE_SAVED_GOAL)
