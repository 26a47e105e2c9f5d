package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewScaffoldBuildsTestsValidates: for each language whose toolchain
// is installed, `ffwasmhost new` writes a project in a fresh directory
// outside the repository whose own `make build`, `make test` and `make
// validate` pass.
func TestNewScaffoldBuildsTestsValidates(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not on PATH: the scaffolds' Makefiles cannot run")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// The go command's own build cache, not one under the tests'
	// XDG_CACHE_HOME: the Go scaffold's test builds the whole host.
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"go", "c", "rust"} {
		t.Run(lang, func(t *testing.T) {
			if why := missingToolchain(t, lang); why != "" {
				t.Skipf("no %s toolchain for wasm32-wasi (%s): the %s scaffold is not built", lang, why, lang)
			}
			parent := t.TempDir()
			res := ffwasmhost(t, nil, "new", "--lang", lang, "--sdk", root, "tidy_"+lang, filepath.Join(parent, "proj"))
			if res.code != 0 {
				t.Fatalf("new: exit %d\n%s", res.code, res.stderr)
			}
			for _, target := range []string{"build", "test", "validate"} {
				ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
				cmd := exec.CommandContext(ctx, "make", target, "FFWASMHOST="+bin, "RUSTC=/usr/bin/rustc")
				cmd.Dir = filepath.Join(parent, "proj")
				cmd.Env = environ("GOFLAGS=-mod=mod", "GOCACHE="+strings.TrimSpace(string(gocache)))
				// Output to a file: a process the go command leaves behind
				// (its telemetry upload) may hold a pipe open after make ends.
				log, err := os.Create(filepath.Join(parent, target+".log"))
				if err != nil {
					t.Fatal(err)
				}
				cmd.Stdout, cmd.Stderr = log, log
				err = cmd.Run()
				cancel()
				log.Close()
				out, _ := os.ReadFile(log.Name())
				if err != nil {
					t.Fatalf("make %s: %v\n%s", target, err, out)
				}
				if target == "validate" && !strings.Contains(string(out), "ok tidy_"+lang+" ffhost tidy_"+lang+".wasm") {
					t.Errorf("make validate:\n%s", out)
				}
			}
		})
	}
}

// missingToolchain says why lang's plugins cannot be built here, or "".
func missingToolchain(t *testing.T, lang string) string {
	t.Helper()
	dir := t.TempDir()
	var cmd *exec.Cmd
	switch lang {
	case "go":
		return ""
	case "c":
		src := filepath.Join(dir, "probe.c")
		if err := os.WriteFile(src, []byte("int probe(void) { return 1; }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command("clang", "--target=wasm32-wasi", "-mexec-model=reactor", "-o", filepath.Join(dir, "probe.wasm"), src)
	case "rust":
		src := filepath.Join(dir, "probe.rs")
		if err := os.WriteFile(src, []byte("#[no_mangle]\npub extern \"C\" fn probe() -> usize { vec![1u8].len() }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command("/usr/bin/rustc", "--target", "wasm32-wasi", "--crate-type", "cdylib", "-o", filepath.Join(dir, "probe.wasm"), src)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return strings.TrimSpace(strings.SplitN(string(out)+err.Error(), "\n", 2)[0])
	}
	return ""
}
