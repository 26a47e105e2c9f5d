# ffwasmhost — build, test, run. Needs only Go (see go.mod for the version);
# the C and Rust plugins need clang and rustc for wasm32-wasi as well, and
# are skipped, with a line saying so, without them.
GO       ?= go
PLUGINS  := $(sort $(patsubst plugins/%/,%,$(dir $(wildcard plugins/*/*.go))))
WASM     := $(PLUGINS:%=build/plugins/%.wasm)
BIN      := build/ffwasmhost
DB       ?= ff.db
WASMFLAGS := -buildmode=c-shared -trimpath -ldflags='-s -w'

.PHONY: all build plugins c-plugins rust-plugins extism-plugins c-wasm rust-wasm test vet fmt-check lint tidy-check check bench abicompare run clean

# go_deps lists the Go files of every package of this module that the
# packages $(2) import, for GOOS=$(1): a target rebuilds when any changes.
MODULE  := $(shell $(GO) list -m 2>/dev/null)
go_deps  = $(foreach d,$(shell GOOS=$(1) GOARCH=$(if $(filter wasip1,$(1)),wasm,$(shell $(GO) env GOARCH)) $(GO) list -deps \
             -f '{{if and (not .Standard) (eq .Module.Path "$(MODULE)")}}{{.Dir}}{{end}}' $(2) 2>/dev/null),$(filter-out %_test.go,$(wildcard $(d)/*.go)))

all: build plugins

build: $(BIN)

$(BIN): $(call go_deps,$(shell $(GO) env GOOS),./cmd/ffwasmhost) go.mod go.sum
	$(GO) build -trimpath -o $@ ./cmd/ffwasmhost

# Every Go plugins/NAME/ becomes build/plugins/NAME.wasm; plugins/c/NAME.c
# becomes build/plugins/NAME_c.wasm and plugins/rust/NAME/ becomes
# build/plugins/NAME_rust.wasm, each when its toolchain is present;
# plugins/extism/NAME/ becomes build/plugins/NAME_extism.wasm.
plugins: $(WASM) c-plugins rust-plugins extism-plugins

# Each depends on every package of the module a Go plugin imports.
$(WASM): build/plugins/%.wasm: $(call go_deps,wasip1,./plugins/...) go.mod go.sum
	@mkdir -p build/plugins
	GOOS=wasip1 GOARCH=wasm $(GO) build $(WASMFLAGS) -o $@.tmp ./plugins/$*
	@mv $@.tmp $@

# Extism plugins: plugins/extism is a Go module of its own, on go-pdk; each
# plugins/extism/NAME/ registers a reconciler of internal/ and is built
# with the tag ffextism, which makes abi/guest speak the Extism profile
# (abi/ABI.md section 13) through plugins/extism/pdkhost.
EXTISM_PLUGINS := $(sort $(patsubst plugins/extism/%/main.go,%,$(wildcard plugins/extism/*/main.go)))
EXTISM_WASM    := $(EXTISM_PLUGINS:%=build/plugins/%_extism.wasm)

extism-plugins: $(EXTISM_WASM)
	@:

$(EXTISM_WASM): build/plugins/%_extism.wasm: $(call go_deps,wasip1,./plugins/...) $(wildcard plugins/extism/*/*.go) \
		plugins/extism/go.mod plugins/extism/go.sum go.mod go.sum
	@mkdir -p build/plugins
	cd plugins/extism && GOOS=wasip1 GOARCH=wasm $(GO) build -tags ffextism $(WASMFLAGS) -o ../../$@.tmp ./$*
	@mv $@.tmp $@

# C plugins: clang 14+ with lld, wasi-libc and the wasm32 compiler-rt
# (Debian: clang lld wasi-libc libclang-rt-dev-wasm32). Newer toolchains
# call the target wasm32-wasip1; wasi-sdk needs --sysroot as well.
CLANG        ?= clang
CLANG_TARGET ?= wasm32-wasi
CFLAGS_WASM  := --target=$(CLANG_TARGET) -mexec-model=reactor -O2 -Wall -Wextra -Werror \
                -Wl,--strip-all -Wl,--stack-first -Iabi/c
C_SDK        := abi/c/ffhost.h abi/c/ffhost.c
C_WASM       := $(patsubst plugins/c/%.c,build/plugins/%_c.wasm,$(filter-out plugins/c/policyjson.c,$(wildcard plugins/c/*.c)))

# Rust plugins: Debian's rustc 1.63 with its wasm32 std (rustc
# libstd-rust-dev-wasm32 lld), invoked directly: the SDK as an rlib, then
# each plugin as a cdylib against it. Newer toolchains call the target
# wasm32-wasip1.
RUSTC          ?= /usr/bin/rustc
RUST_TARGET    ?= wasm32-wasi
RUSTFLAGS_WASM := --edition 2021 --target $(RUST_TARGET) -C opt-level=s
RUST_SDK       := build/rust/libffhost.rlib
RUST_WASM      := $(patsubst plugins/rust/%/lib.rs,build/plugins/%_rust.wasm,$(wildcard plugins/rust/*/lib.rs))

# Each probe builds a tiny module; without a working toolchain the
# language's plugins are skipped with one line.
C_PROBE    = mkdir -p build/probe && printf '\043include <stdio.h>\n__attribute__((export_name("probe"))) int probe(char *b, double d) { return snprintf(b, 8, "%%f", d); }\n' >build/probe/probe.c && \
             $(CLANG) --target=$(CLANG_TARGET) -mexec-model=reactor -o build/probe/probe-c.wasm build/probe/probe.c >/dev/null 2>&1
RUST_PROBE = mkdir -p build/probe && printf '\043[no_mangle]\npub extern "C" fn probe() -> usize { vec![1u8].len() }\n' >build/probe/probe.rs && \
             $(RUSTC) --target $(RUST_TARGET) --crate-type cdylib -o build/probe/probe-rust.wasm build/probe/probe.rs >/dev/null 2>&1

c-plugins:
	@if $(C_PROBE); then $(MAKE) --no-print-directory c-wasm; else \
	echo "make: skipping the C plugins ($(notdir $(C_WASM))): $(CLANG) cannot build $(CLANG_TARGET); install the Debian packages clang lld wasi-libc libclang-rt-dev-wasm32"; fi

rust-plugins:
	@if $(RUST_PROBE); then $(MAKE) --no-print-directory rust-wasm; else \
	echo "make: skipping the Rust plugins ($(notdir $(RUST_WASM))): $(RUSTC) cannot build $(RUST_TARGET); install the Debian packages rustc libstd-rust-dev-wasm32 lld"; fi

# The builds themselves, once the probes passed.
c-wasm: $(C_WASM)
	@:
rust-wasm: $(RUST_WASM)
	@:

build/plugins/budget_reset_c.wasm: plugins/c/policyjson.c plugins/c/policyjson.h
build/plugins/%_c.wasm: plugins/c/%.c $(C_SDK)
	@mkdir -p build/plugins
	$(CLANG) $(CFLAGS_WASM) -o $@.tmp $(filter plugins/%.c,$^) $(filter abi/%.c,$^)
	@mv $@.tmp $@

$(RUST_SDK): $(wildcard abi/rust/ffhost/src/*.rs)
	@mkdir -p $(@D)
	$(RUSTC) $(RUSTFLAGS_WASM) --crate-type rlib --crate-name ffhost -o $@ abi/rust/ffhost/src/lib.rs

.SECONDEXPANSION:
build/plugins/%_rust.wasm: $$(wildcard plugins/rust/$$*/*.rs) $(RUST_SDK)
	@mkdir -p build/plugins
	$(RUSTC) $(RUSTFLAGS_WASM) --crate-type cdylib --crate-name $*_rust -C link-arg=--strip-all \
		--extern ffhost=$(RUST_SDK) -o $@.tmp plugins/rust/$*/lib.rs
	@mv $@.tmp $@

vet:
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./abi/...
	GOOS=wasip1 GOARCH=wasm $(GO) build -o /dev/null ./plugins/...
	GOOS=wasip1 GOARCH=wasm $(GO) vet -tags ffextism ./abi/guest/
	cd plugins/extism && GOOS=wasip1 GOARCH=wasm $(GO) vet -tags ffextism ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The test command: vet, then every test, then host/ again under the race
# detector. The plain run goes first: it fills the shared wazero
# compilation cache, which spares the -race run its slow compiles.
test: fmt-check vet build plugins
	$(GO) test -count=1 ./...
	$(GO) test -race -count=1 ./host/...

# staticcheck for the host and for the wasip1 builds (guest SDK and plugins).
STATICCHECK ?= staticcheck
lint:
	$(STATICCHECK) ./...
	GOOS=wasip1 GOARCH=wasm $(STATICCHECK) -tests=false ./abi/... ./plugins/... ./tests/bench/plugins/...
	GOOS=wasip1 GOARCH=wasm $(STATICCHECK) -tests=false -tags ffextism ./abi/guest/
	cd plugins/extism && GOOS=wasip1 GOARCH=wasm $(STATICCHECK) -tags ffextism ./...

# go mod tidy must leave go.mod and go.sum as they are.
tidy-check:
	@mkdir -p build && cp go.mod build/go.mod.before && cp go.sum build/go.sum.before
	$(GO) mod tidy
	@if ! cmp -s go.mod build/go.mod.before || ! cmp -s go.sum build/go.sum.before; then \
		echo "go mod tidy changed go.mod or go.sum:"; diff -u build/go.mod.before go.mod; diff -u build/go.sum.before go.sum; \
		cp build/go.mod.before go.mod; cp build/go.sum.before go.sum; exit 1; fi

# What CI runs besides the tests.
check: lint tidy-check

# The demo: build, migrate $(DB), seed demo rows when it is empty, then run
# the daemon in the foreground with short intervals so the reconcilers act
# within seconds. Ctrl-C drains and stops it.
run: build plugins
	$(BIN) migrate --db $(DB)
	$(BIN) demo-seed --db $(DB)
	$(BIN) run --db $(DB) --plugins build/plugins --interval budget_reset=2s --interval worker_ttl=3s

# Benchmarks against the same reconcilers in native Go: a table on
# stdout, build/bench/results.json, build/bench/ratios.svg, copied to
# docs/bench-ratios.svg. About 5-10 minutes on 2 cores; see BENCHMARKS.md.
# Not part of `make test`: nothing in it asserts a timing.
bench:
	$(GO) run ./tests/bench -out build/bench

# The plugin ABI comparison (native, ffhost, Extism): its own Go module in
# tests/abicompare, so the main module does not depend on Extism.
abicompare:
	cd tests/abicompare && $(GO) run . -out ../../build/abicompare

clean:
	rm -rf build
