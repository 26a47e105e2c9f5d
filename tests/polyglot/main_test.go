// Package polyglot tests the C and Rust SDKs (abi/c, abi/rust/ffhost) and
// the reconcilers ported with them (plugins/c, plugins/rust): the shared
// reconciler suite (internal/reconcilertest) for every build, the same
// random workload through the Go, C and Rust builds with byte-identical
// tables, the SDKs' error, fetch and busy-retry paths against a scripted
// host, the CLI and a real daemon, and plugins written from ABI.md's raw
// imports alone. The Extism builds of the reconcilers (plugins/extism) run
// the shared suite, the random workloads, the CLI and the daemon too.
//
// The tests build what they run with the same commands as `make plugins`
// (buildC, buildRust, buildExtism), into a directory of their own. A language whose
// toolchain is missing is skipped with one line saying what to install.
package polyglot

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	// root is the repository's root directory.
	root string
	// buildDir holds everything the tests build; removed at the end.
	buildDir string
)

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "polyglot setup: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	var err error
	if root, err = filepath.Abs(filepath.Join("..", "..")); err != nil {
		return 0, err
	}
	if buildDir, err = os.MkdirTemp("", "ffwasmhost-polyglot-"); err != nil {
		return 0, err
	}
	defer os.RemoveAll(buildDir)
	return m.Run(), nil
}

// envOr returns the environment variable key, or def when it is unset or empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// The compilers and targets, as the Makefile names them.
var (
	clangPath   = envOr("CLANG", "clang")
	clangTarget = envOr("CLANG_TARGET", "wasm32-wasi")
	rustcPath   = envOr("RUSTC", "/usr/bin/rustc")
	rustTarget  = envOr("RUST_TARGET", "wasm32-wasi")
)

// run runs a command in the repository's root and returns its combined
// output, or an error quoting it.
func run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return out, nil
}

// probe is a toolchain check, run once: "" if the toolchain works, else
// the line a skipped test prints.
type probe struct {
	once sync.Once
	skip string
}

var cProbe, rustProbe probe

// needC skips the test unless clang builds wasm32-wasi reactors.
func needC(t testing.TB) {
	t.Helper()
	cProbe.once.Do(func() {
		src := filepath.Join(buildDir, "probe.c")
		if err := os.WriteFile(src, []byte("#include <stdio.h>\n__attribute__((export_name(\"probe\"))) int probe(char *b, double d) { return snprintf(b, 8, \"%f\", d); }\n"), 0o644); err != nil {
			cProbe.skip = err.Error()
			return
		}
		if why := probeFails(clangPath, "--target="+clangTarget, "-mexec-model=reactor", "-o", filepath.Join(buildDir, "probe-c.wasm"), src); why != "" {
			cProbe.skip = clangPath + " cannot build " + clangTarget + " (" + why + "): skipping the C builds; " +
				"install the Debian packages clang lld wasi-libc libclang-rt-dev-wasm32 (or set CLANG)"
		}
	})
	if cProbe.skip != "" {
		t.Skip(cProbe.skip)
	}
}

// needRust skips the test unless rustc builds wasm32-wasi cdylibs.
func needRust(t testing.TB) {
	t.Helper()
	rustProbe.once.Do(func() {
		src := filepath.Join(buildDir, "probe.rs")
		if err := os.WriteFile(src, []byte("#[no_mangle]\npub extern \"C\" fn probe() -> usize { vec![1u8].len() }\n"), 0o644); err != nil {
			rustProbe.skip = err.Error()
			return
		}
		if why := probeFails(rustcPath, "--target", rustTarget, "--crate-type", "cdylib", "-o", filepath.Join(buildDir, "probe-rust.wasm"), src); why != "" {
			rustProbe.skip = rustcPath + " cannot build " + rustTarget + " (" + why + "): skipping the Rust builds; " +
				"install the Debian packages rustc libstd-rust-dev-wasm32 lld (or set RUSTC)"
		}
	})
	if rustProbe.skip != "" {
		t.Skip(rustProbe.skip)
	}
}

// probeFails runs a toolchain probe and returns why it failed in a few
// words (the compiler's first line of complaint), or "" if it worked.
func probeFails(name string, args ...string) string {
	out, err := run(name, args...)
	if err == nil {
		return ""
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return errors.Unwrap(err).Error() // it did not start
	}
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ee.Error()
}

// builds remembers what this process built: output path or error, by name.
var builds struct {
	mu   sync.Mutex
	done map[string]buildResult
}

type buildResult struct {
	path string
	err  error
}

// once builds name with build the first time it is asked for, and returns
// the same result after.
func once(t testing.TB, name string, build func(out string) error) string {
	t.Helper()
	builds.mu.Lock()
	defer builds.mu.Unlock()
	r, ok := builds.done[name]
	if !ok {
		r.path = filepath.Join(buildDir, name)
		r.err = build(r.path)
		if builds.done == nil {
			builds.done = map[string]buildResult{}
		}
		builds.done[name] = r
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.path
}

// cFlags are the Makefile's flags for C plugins (CFLAGS_WASM).
func cFlags() []string {
	return []string{"--target=" + clangTarget, "-mexec-model=reactor", "-O2", "-Wall", "-Wextra", "-Werror",
		"-Wl,--strip-all", "-Wl,--stack-first", "-Iabi/c"}
}

// buildC compiles the C sources srcs (relative to the repository) with the
// SDK into name.wasm, as `make plugins` does, and returns its path.
func buildC(t testing.TB, name string, srcs ...string) string {
	t.Helper()
	needC(t)
	return once(t, name+".wasm", func(out string) error {
		args := append(cFlags(), "-o", out)
		args = append(append(args, srcs...), "abi/c/ffhost.c")
		_, err := run(clangPath, args...)
		return err
	})
}

// rustFlags are the Makefile's flags for Rust (RUSTFLAGS_WASM).
func rustFlags() []string {
	return []string{"--edition", "2021", "--target", rustTarget, "-C", "opt-level=s"}
}

// rustSDK builds the SDK as an rlib, as `make plugins` does.
func rustSDK(t testing.TB) string {
	t.Helper()
	needRust(t)
	return once(t, "libffhost.rlib", func(out string) error {
		args := append(rustFlags(), "--crate-type", "rlib", "--crate-name", "ffhost", "-o", out, "abi/rust/ffhost/src/lib.rs")
		_, err := run(rustcPath, args...)
		return err
	})
}

// buildRust compiles the crate root src (relative to the repository) into
// name.wasm against the SDK, as `make plugins` does, and returns its path.
func buildRust(t testing.TB, name, src string) string {
	t.Helper()
	sdk := rustSDK(t)
	return once(t, name+".wasm", func(out string) error {
		args := append(rustFlags(), "--crate-type", "cdylib", "--crate-name", name,
			"-C", "link-arg=--strip-all", "--extern", "ffhost="+sdk, "-o", out, src)
		_, err := run(rustcPath, args...)
		return err
	})
}

// buildExtism builds the Extism plugin plugins/extism/name (its own Go
// module, on go-pdk) into name_extism.wasm, as `make plugins` does, and
// returns its path.
func buildExtism(t testing.TB, name string) string {
	t.Helper()
	return once(t, name+"_extism.wasm", func(out string) error {
		cmd := exec.Command("go", "build", "-tags", "ffextism", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, "./"+name)
		cmd.Dir = filepath.Join(root, "plugins", "extism")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s_extism: %w\n%s", name, err, b)
		}
		return nil
	})
}

// port is one non-Go build of a reconciler.
type port struct {
	lang  string // "C", "Rust" or "Extism"
	name  string // its descriptor name and file name
	build func(testing.TB) string
}

// budgetResetPorts and workerTTLPorts are the ports of each reconciler.
var (
	budgetResetPorts = []port{
		{"C", "budget_reset_c", func(t testing.TB) string {
			return buildC(t, "budget_reset_c", "plugins/c/budget_reset.c", "plugins/c/policyjson.c")
		}},
		{"Rust", "budget_reset_rust", func(t testing.TB) string {
			return buildRust(t, "budget_reset_rust", "plugins/rust/budget_reset/lib.rs")
		}},
	}
	workerTTLPorts = []port{
		{"C", "worker_ttl_c", func(t testing.TB) string { return buildC(t, "worker_ttl_c", "plugins/c/worker_ttl.c") }},
		{"Rust", "worker_ttl_rust", func(t testing.TB) string {
			return buildRust(t, "worker_ttl_rust", "plugins/rust/worker_ttl/lib.rs")
		}},
	}
)

// budgetResetExtism and workerTTLExtism are the Extism builds of each
// reconciler: the Go code with go-pdk as its transport. They run the
// shared suite and the differential workloads; the C and Rust ports' ABI
// checks (raw exports, scripted host) do not apply to them.
var (
	budgetResetExtism = port{"Extism", "budget_reset_extism", func(t testing.TB) string { return buildExtism(t, "budget_reset") }}
	workerTTLExtism   = port{"Extism", "worker_ttl_extism", func(t testing.TB) string { return buildExtism(t, "worker_ttl") }}
)

// readFile returns the contents of a file under the repository's root.
func readFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(b)
}
