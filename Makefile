# ffwasmhost — build, test, run. Needs only Go (see go.mod for the version).
GO       ?= go
PLUGINS  := $(notdir $(wildcard plugins/*))
WASM     := $(PLUGINS:%=build/plugins/%.wasm)
BIN      := build/ffwasmhost
DB       ?= ff.db
WASMFLAGS := -buildmode=c-shared -trimpath -ldflags='-s -w'

.PHONY: all build plugins test vet fmt-check check bench abicompare run clean

all: build plugins

build: $(BIN)

$(BIN): $(shell find cmd host abi -name '*.go' -not -path '*/testdata/*' 2>/dev/null) go.mod go.sum
	$(GO) build -trimpath -o $@ ./cmd/ffwasmhost

# Every plugins/NAME/ becomes build/plugins/NAME.wasm.
plugins: $(WASM)

build/plugins/%.wasm: $(shell find plugins abi -name '*.go' 2>/dev/null) go.mod go.sum
	@mkdir -p build/plugins
	GOOS=wasip1 GOARCH=wasm $(GO) build $(WASMFLAGS) -o $@.tmp ./plugins/$*
	@mv $@.tmp $@

vet:
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./abi/...
	GOOS=wasip1 GOARCH=wasm $(GO) build -o /dev/null ./plugins/...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The test command: vet, then every test, then host/ again under the race
# detector. The plain run goes first: it fills the shared wazero
# compilation cache, which spares the -race run its slow compiles.
test: fmt-check vet build plugins
	$(GO) test -count=1 ./...
	$(GO) test -race -count=1 ./host/...

check: test
	$(GO) mod tidy
	@git diff --exit-code go.mod go.sum

# The demo: build, migrate $(DB), seed demo rows when it is empty, then run
# the daemon in the foreground with short intervals so the reconcilers act
# within seconds. Ctrl-C drains and stops it.
run: build plugins
	$(BIN) migrate --db $(DB)
	$(BIN) demo-seed --db $(DB)
	$(BIN) run --db $(DB) --plugins build/plugins --interval budget_reset=2s --interval worker_ttl=3s

# Benchmarks against the same reconcilers in native Go (issue 6): a table on
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
