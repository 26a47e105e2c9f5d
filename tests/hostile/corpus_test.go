package hostile

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestCorpusListed checks that the table and testdata agree: every module
// file has one row, every row its .wat and .wasm, and every row says what
// must happen.
func TestCorpusListed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.wa[ts]*"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]module{}
	for _, m := range corpus {
		if _, dup := rows[m.file]; dup {
			t.Errorf("%s: two rows", m.file)
		}
		rows[m.file] = m
	}
	onDisk := map[string]bool{}
	for _, f := range files {
		base := filepath.Base(f)
		name, ext, _ := strings.Cut(base, ".")
		if ext != "wat" && ext != "wasm" {
			t.Errorf("%s: not a .wat or .wasm file", f)
			continue
		}
		onDisk[name] = true
		if _, ok := rows[name]; !ok {
			t.Errorf("%s is not in the table (table_test.go)", f)
		}
	}
	for _, m := range corpus {
		for _, ext := range []string{".wat", ".wasm"} {
			if _, err := os.Stat(filepath.Join("testdata", m.file+ext)); err != nil {
				t.Errorf("%s: %v", m.file, err)
			}
		}
		switch {
		case m.attack == "" || m.category == "" || m.daemon == "":
			t.Errorf("%s: the row needs an attack, a category and a daemon", m.file)
		case m.outcome != refused && m.outcome != tickFails && m.outcome != noChange:
			t.Errorf("%s: no outcome", m.file)
		case m.outcome != noChange && len(m.reasons) == 0:
			t.Errorf("%s: %s needs at least one reason", m.file, m.outcome)
		case m.outcome == refused && (m.dryRun || m.interval != 0 || m.limits.TickTimeout != 0):
			t.Errorf("%s: a refused module has no tick settings", m.file)
		}
	}
	if n := len(onDisk); n < 40 {
		t.Errorf("the corpus has %d modules; want at least 40", n)
	}
}

// builtWith is the header line of every .wat that says how its .wasm was
// assembled.
var builtWith = regexp.MustCompile(`(?m)^;; Built with: wat2wasm ((?:--[a-z0-9-]+ )*)(\S+\.wat) -o (\S+\.wasm)$`)

// TestCorpusAssembles reassembles every .wat with the flags of its header
// and compares the result with the committed .wasm.
func TestCorpusAssembles(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm (wabt) is not on PATH: the committed .wasm files are not checked against their .wat")
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.wat"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".wat")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m := builtWith.FindSubmatch(src)
			if m == nil || string(m[2]) != name+".wat" || string(m[3]) != name+".wasm" {
				t.Fatalf("%s has no line %q", f, ";; Built with: wat2wasm [--flag ...] "+name+".wat -o "+name+".wasm")
			}
			out := filepath.Join(tmp, name+".wasm")
			args := append(strings.Fields(string(m[1])), f, "-o", out)
			// Deeply nested modules need more stack than wat2wasm gets by
			// default (huge_nesting); raise it where the shell may.
			cmd := exec.Command("sh", append([]string{"-c", `ulimit -s unlimited 2>/dev/null; exec "$0" "$@"`, wat2wasm}, args...)...)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("wat2wasm %s: %v\n%s", strings.Join(args, " "), err, msg)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("testdata/%s.wasm (%d bytes) is not what %s.wat assembles to (%d bytes): reassemble it as its header says",
					name, len(want), name, len(got))
			}
		})
	}
}

// TestCorpusCategories logs how many modules each category has, for the
// report.
func TestCorpusCategories(t *testing.T) {
	count := map[string]int{}
	var cats []string
	for _, m := range corpus {
		if count[m.category] == 0 {
			cats = append(cats, m.category)
		}
		count[m.category]++
	}
	slices.Sort(cats)
	var b strings.Builder
	for _, c := range cats {
		fmt.Fprintf(&b, "\n  %-17s %d", c+":", count[c])
	}
	t.Logf("%d modules:%s", len(corpus), b.String())
}
