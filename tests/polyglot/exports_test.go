package polyglot

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// wasmExports returns a module's exports as "kind name", sorted, reading
// the export section (id 7) of the binary format.
func wasmExports(b []byte) ([]string, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, fmt.Errorf("not a wasm module")
	}
	b = b[8:]
	for len(b) > 0 {
		id := b[0]
		size, n := binary.Uvarint(b[1:])
		if n <= 0 || uint64(len(b)-1-n) < size {
			return nil, fmt.Errorf("section %d is cut short", id)
		}
		body := b[1+n : 1+n+int(size)]
		b = b[1+n+int(size):]
		if id != 7 {
			continue
		}
		count, n := binary.Uvarint(body)
		body = body[n:]
		var out []string
		for range count {
			l, n := binary.Uvarint(body)
			if n <= 0 || uint64(len(body)-n) < l+1 {
				return nil, fmt.Errorf("export section is cut short")
			}
			name := string(body[n : n+int(l)])
			kind := body[n+int(l)]
			body = body[n+int(l)+1:]
			_, n = binary.Uvarint(body) // the index
			body = body[n:]
			out = append(out, [...]string{"func", "table", "memory", "global"}[kind&3]+" "+name)
		}
		slices.Sort(out)
		return out, nil
	}
	return nil, nil
}

// TestExports: what each build exports, as ABI.md's C and Rust appendix
// says: C reactors memory, _initialize, describe and scan_tick; Rust
// cdylibs on the SDK the same plus the globals __heap_base and
// __data_end; neither exports malloc or the function table.
func TestExports(t *testing.T) {
	c := []string{"func _initialize", "func describe", "func scan_tick", "memory memory"}
	rust := []string{"func _initialize", "func describe", "func scan_tick", "global __data_end", "global __heap_base", "memory memory"}
	for _, p := range append(budgetResetPorts, workerTTLPorts...) {
		t.Run(p.name, func(t *testing.T) {
			b, err := os.ReadFile(p.build(t))
			if err != nil {
				t.Fatal(err)
			}
			got, err := wasmExports(b)
			if err != nil {
				t.Fatal(err)
			}
			want := c
			if p.lang == "Rust" {
				want = rust
			}
			if !slices.Equal(got, want) {
				t.Errorf("exports %q, want %q", got, want)
			}
		})
	}
}

// TestRustUnits runs the Rust SDK's and the budget_reset port's own unit
// tests, natively (rustc --test), where every host call fails invalid,
// and compiles the SDK's documentation examples (rustdoc --test).
func TestRustUnits(t *testing.T) {
	needRust(t)
	for _, src := range []string{"abi/rust/ffhost/src/lib.rs", "plugins/rust/budget_reset/policyjson.rs"} {
		t.Run(src, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "unit")
			if _, err := run(rustcPath, "--edition", "2021", "--test", "-o", bin, src); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "test result: ok") {
				t.Fatalf("%s: %v\n%s", src, err, out)
			}
		})
	}
	// The examples in the SDK's documentation compile against a native build of it.
	t.Run("doc examples", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := run(rustcPath, "--edition", "2021", "--crate-type", "rlib", "--crate-name", "ffhost",
			"-o", filepath.Join(dir, "libffhost.rlib"), "abi/rust/ffhost/src/lib.rs"); err != nil {
			t.Fatal(err)
		}
		rustdoc := envOr("RUSTDOC", filepath.Join(filepath.Dir(rustcPath), "rustdoc"))
		out, err := run(rustdoc, "--edition", "2021", "--test", "--crate-name", "ffhost", "-L", dir, "abi/rust/ffhost/src/lib.rs")
		if err != nil || !strings.Contains(string(out), "test result: ok") {
			t.Fatalf("rustdoc --test: %v\n%s", err, out)
		}
	})
}
