// Package e2e drives the built ffwasmhost binary and the built plugins:
// the daemon's lifecycle and hot reload, the one-shot tick, and the CLI's
// handling of bad input. TestMain builds everything once with `go build`,
// so the tests do not depend on `make` having run.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
)

var (
	// bin is the built ffwasmhost binary.
	bin string
	// pluginDir holds budget_reset.wasm and worker_ttl.wasm. Tests that
	// change a directory copy the files into one of their own.
	pluginDir string
	// extismDir holds budget_reset_extism.wasm and worker_ttl_extism.wasm,
	// the Extism builds of the two.
	extismDir string
	// cacheDir is the compilation cache every process shares, so each
	// plugin is compiled once per machine rather than once per process.
	cacheDir string
	// xdgCache is XDG_CACHE_HOME for every command the tests run.
	xdgCache string
	// poisonWasm fails its tick on a budget whose policy_json is 'poison';
	// poisonFixedWasm is the same plugin built to skip such budgets.
	poisonWasm, poisonFixedWasm string
	// staleLeasesWasm is built from a Go module of its own
	// (testdata/stale_leases) and owns a table with migrations;
	// staleLeasesEditedWasm is the same plugin with its applied first
	// migration edited.
	staleLeasesWasm, staleLeasesEditedWasm string
)

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e setup: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp("", "ffwasmhost-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	bin = filepath.Join(tmp, "ffwasmhost")
	pluginDir = filepath.Join(tmp, "plugins")
	if err := goBuild(root, nil, "-o", bin, "./cmd/ffwasmhost"); err != nil {
		return 0, err
	}
	wasmEnv := []string{"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0"}
	for _, p := range []string{"budget_reset", "worker_ttl"} {
		out := filepath.Join(pluginDir, p+".wasm")
		if err := goBuild(root, wasmEnv, "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, "./plugins/"+p); err != nil {
			return 0, err
		}
	}
	// The Extism builds of both (plugins/extism, a module of its own).
	extismDir = filepath.Join(tmp, "extism")
	for _, p := range []string{"budget_reset", "worker_ttl"} {
		out := filepath.Join(extismDir, p+"_extism.wasm")
		if err := goBuild(filepath.Join(root, "plugins", "extism"), wasmEnv, "-tags", "ffextism", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, "./"+p); err != nil {
			return 0, err
		}
	}
	// The test plugin whose ticks fail on a poisoned row, and its fixed
	// build, for the replay tests.
	poisonWasm, poisonFixedWasm = filepath.Join(tmp, "poison.wasm"), filepath.Join(tmp, "poison_fixed.wasm")
	if err := goBuild(root, wasmEnv, "-buildmode=c-shared", "-o", poisonWasm, "./tests/e2e/testdata/poison"); err != nil {
		return 0, err
	}
	if err := goBuild(root, wasmEnv, "-buildmode=c-shared", "-ldflags=-X=main.tolerant=yes", "-o", poisonFixedWasm, "./tests/e2e/testdata/poison"); err != nil {
		return 0, err
	}
	// A plugin in a module of its own, built from its own directory as its
	// author would.
	staleLeasesWasm, staleLeasesEditedWasm = filepath.Join(tmp, "stale_leases.wasm"), filepath.Join(tmp, "stale_leases_edited.wasm")
	own := filepath.Join(root, "tests", "e2e", "testdata", "stale_leases")
	if err := goBuild(own, wasmEnv, "-buildmode=c-shared", "-o", staleLeasesWasm, "."); err != nil {
		return 0, err
	}
	if err := goBuild(own, wasmEnv, "-buildmode=c-shared", "-ldflags=-X=main.edited=yes", "-o", staleLeasesEditedWasm, "."); err != nil {
		return 0, err
	}
	// The tests' private cache, reused across runs (compiling is the slow
	// part), never the user's real one.
	cacheDir = plugintest.CacheDir()
	// A command given no --cache-dir uses os.UserCacheDir: point it into
	// tmp, so that no test writes into the user's real cache directory.
	xdgCache = filepath.Join(tmp, "xdg-cache")
	// Compile both plugins into the cache before the tests start their clocks.
	cmd := exec.Command(bin, "validate", "--cache-dir", cacheDir,
		filepath.Join(pluginDir, "budget_reset.wasm"), filepath.Join(pluginDir, "worker_ttl.wasm"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("warm the compilation cache: %v\n%s", err, out)
	}
	return m.Run(), nil
}

func goBuild(dir string, env []string, args ...string) error {
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// cmdTimeout bounds one CLI invocation.
const cmdTimeout = 2 * time.Minute

// environ is the test process's environment without FF_* variables, with
// XDG_CACHE_HOME in the tests' temporary directory, plus extra.
func environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FF_") && !strings.HasPrefix(kv, "XDG_CACHE_HOME=") {
			env = append(env, kv)
		}
	}
	return append(append(env, "XDG_CACHE_HOME="+xdgCache), extra...)
}

// result is one finished CLI invocation.
type result struct {
	stdout, stderr string
	code           int
}

// ffwasmhost runs the binary with args (env: extra variables) and returns
// its output and exit status.
func ffwasmhost(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = environ(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	if err != nil && res.code <= 0 {
		t.Fatalf("ffwasmhost %s: %v\nstderr: %s", strings.Join(args, " "), err, res.stderr)
	}
	return res
}

// copyPlugins copies the named built plugins into a new directory.
func copyPlugins(t *testing.T, names ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "plugins")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		deploy(t, dir, n+".wasm", readPlugin(t, n))
	}
	return dir
}

func readPlugin(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pluginDir, name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deploy writes b into dir as name the documented safe way: write a hidden
// file, then rename it into place.
func deploy(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name)
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// withCustomSection returns wasm with a custom section appended: a new
// version (new sha256) that behaves exactly like the old one.
func withCustomSection(wasm []byte, label string) []byte {
	body := append([]byte{byte(len(label))}, label...)
	body = append(body, 'x')
	return append(append(bytes.Clone(wasm), 0, byte(len(body))), body...)
}
