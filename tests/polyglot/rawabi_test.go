package polyglot

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/internal/reconcilertest"
)

// appendixBlock returns the first code block in lang (```c, ```rust)
// after ABI.md's "Appendix: raw imports" heading.
func appendixBlock(t testing.TB, lang string) string {
	t.Helper()
	return docBlock(t, "## Appendix: raw imports", lang)
}

// docBlock returns the first code block in lang after the heading of
// ABI.md.
func docBlock(t testing.TB, heading, lang string) string {
	t.Helper()
	doc := string(readFile(t, "abi/ABI.md"))
	_, rest, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("ABI.md has no %q", heading)
	}
	_, rest, ok = strings.Cut(rest, "\n```"+lang+"\n")
	if !ok {
		t.Fatalf("ABI.md's %q has no %s block", heading, lang)
	}
	block, _, ok := strings.Cut(rest, "\n```\n")
	if !ok {
		t.Fatalf("ABI.md's %s block does not end", lang)
	}
	return block + "\n"
}

// rawSource writes ABI.md's block for lang followed by the test's body
// into the build directory and returns the file's path.
func rawSource(t testing.TB, lang, body, name string) string {
	t.Helper()
	src := filepath.Join(buildDir, name)
	text := appendixBlock(t, lang) + "\n" + string(readFile(t, body))
	if err := os.WriteFile(src, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return src
}

// buildRawC builds testdata/raw_worker_ttl.c on ABI.md's C block alone,
// as a reactor, or as a command with asCommand.
func buildRawC(t testing.TB, asCommand bool) string {
	t.Helper()
	needC(t)
	name := "raw_worker_ttl_c"
	flags := []string{"--target=" + clangTarget, "-mexec-model=reactor", "-O2", "-Wall", "-Werror"}
	if asCommand {
		name += "_command"
		flags = []string{"--target=" + clangTarget, "-O2", "-Wall", "-Werror", "-DAS_COMMAND"}
	}
	return once(t, name+".wasm", func(out string) error {
		src := rawSource(t, "c", "tests/polyglot/testdata/raw_worker_ttl.c", name+".c")
		_, err := run(clangPath, append(flags, "-o", out, src)...)
		return err
	})
}

// buildRawRust builds testdata/raw_worker_ttl.rs on ABI.md's Rust block
// alone, without the SDK and without an _initialize.
func buildRawRust(t testing.TB) string {
	t.Helper()
	needRust(t)
	return once(t, "raw_worker_ttl_rust.wasm", func(out string) error {
		src := rawSource(t, "rust", "tests/polyglot/testdata/raw_worker_ttl.rs", "raw_worker_ttl_rust.rs")
		_, err := run(rustcPath, append(rustFlags(), "--crate-type", "cdylib", "-o", out, src)...)
		return err
	})
}

// buildRawExtism builds testdata/raw_worker_ttl_extism.rs, an Extism
// plugin, on the Rust block of ABI.md section 13.7 alone.
func buildRawExtism(t testing.TB) string {
	t.Helper()
	needRust(t)
	return once(t, "raw_worker_ttl_extism.wasm", func(out string) error {
		src := filepath.Join(buildDir, "raw_worker_ttl_extism.rs")
		text := docBlock(t, "### 13.7 Raw imports", "rust") + "\n" + string(readFile(t, "tests/polyglot/testdata/raw_worker_ttl_extism.rs"))
		if err := os.WriteFile(src, []byte(text), 0o644); err != nil {
			return err
		}
		_, err := run(rustcPath, append(rustFlags(), "--crate-type", "cdylib", "-o", out, src)...)
		return err
	})
}

// TestFromABIAlone: a worker_ttl written from ABI.md's raw imports alone,
// with none of this repository's code, in C and in Rust (the latter
// without an _initialize, so its exports run wrapped in the module's
// constructors and destructors), loads with the host's import checks
// and passes the worker_ttl suite; and one in Rust as an Extism plugin,
// from section 13 alone, without a PDK.
func TestFromABIAlone(t *testing.T) {
	t.Run("C", func(t *testing.T) { reconcilertest.WorkerTTLRows(t, buildRawC(t, false)) })
	t.Run("Rust", func(t *testing.T) { reconcilertest.WorkerTTLRows(t, buildRawRust(t)) })
	t.Run("Extism/Rust", func(t *testing.T) { reconcilertest.WorkerTTLRows(t, buildRawExtism(t)) })
}

// TestConstructors: a C reactor's constructors run once, from
// _initialize. A command's _start is never called, yet it loads and
// works: with this wasi-libc, whose _start does not call the constructors
// itself, the linker wraps every export in the constructors and the
// destructors, so they run again on every call (describe's at load, then
// each tick's), as in a Rust cdylib without _initialize.
func TestConstructors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		command bool
		want    []string
	}{
		{"reactor", false, []string{"INFO constructors ran 1 times", "INFO constructors ran 1 times"}},
		{"command", true, []string{"INFO constructors ran 2 times", "INFO constructors ran 3 times"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lines := newPluginLines()
			h := plugintest.New(t, buildRawC(t, tt.command), plugintest.Options{Logger: newLogger(lines)})
			h.MustTick(1_000)
			h.MustTick(2_000)
			if got := lines.take(); !slices.Equal(got, tt.want) {
				t.Errorf("log lines %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("command/worker_ttl", func(t *testing.T) { reconcilertest.WorkerTTLRows(t, buildRawC(t, true)) })
}
