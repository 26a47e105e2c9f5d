package scaffold_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/internal/scaffold"
)

func TestWrite(t *testing.T) {
	sdk := t.TempDir()
	want := map[string][]string{
		"go":   {".gitignore", "Makefile", "README.md", "go.mod", "main.go", "main_test.go"},
		"c":    {".gitignore", "Makefile", "README.md", "plugin.c", "test.sh"},
		"rust": {".gitignore", "Makefile", "README.md", "lib.rs", "test.sh"},
	}
	for _, lang := range scaffold.Langs {
		t.Run(lang, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "leases")
			files, err := scaffold.Write(scaffold.Project{Name: "stale_leases", Lang: lang, Dir: dir, SDK: sdk})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(files, want[lang]) {
				t.Errorf("files %q, want %q", files, want[lang])
			}
			for _, f := range files {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(b), "{{") || strings.Contains(string(b), "<no value>") {
					t.Errorf("%s has an unrendered template field", f)
				}
			}
			build := map[string]string{"go": "go.mod", "c": "Makefile", "rust": "Makefile"}[lang]
			if b, _ := os.ReadFile(filepath.Join(dir, build)); !strings.Contains(string(b), sdk) {
				t.Errorf("%s does not name the SDK %s", build, sdk)
			}
			if fi, err := os.Stat(filepath.Join(dir, "test.sh")); err == nil && fi.Mode()&0o111 == 0 {
				t.Error("test.sh is not executable")
			}
		})
	}
}

func TestWriteRefuses(t *testing.T) {
	sdk := t.TempDir()
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    scaffold.Project
		msg  string
	}{
		{"bad name", scaffold.Project{Name: "Leases", Lang: "go", Dir: filepath.Join(t.TempDir(), "x"), SDK: sdk}, `plugin name "Leases"`},
		{"bad language", scaffold.Project{Name: "x", Lang: "zig", Dir: filepath.Join(t.TempDir(), "x"), SDK: sdk}, `language "zig": want one of go, c, rust`},
		{"relative sdk", scaffold.Project{Name: "x", Lang: "go", Dir: filepath.Join(t.TempDir(), "x"), SDK: "src"}, "absolute path"},
		{"directory not empty", scaffold.Project{Name: "x", Lang: "go", Dir: full, SDK: sdk}, "exists and is not empty; nothing was written"},
		{"parent missing", scaffold.Project{Name: "x", Lang: "go", Dir: filepath.Join(t.TempDir(), "no", "x"), SDK: sdk}, "does not exist; create it first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scaffold.Write(tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Write: %v, want %q", err, tt.msg)
			}
			if ents, _ := os.ReadDir(filepath.Dir(tt.p.Dir)); tt.name != "directory not empty" && len(ents) != 0 {
				t.Errorf("left %d entries beside the refused project", len(ents))
			}
		})
	}
}

func TestTable(t *testing.T) {
	for name, want := range map[string]string{"leases": "leases_runs", "ff_cleanup": "runs_ff_cleanup"} {
		if got := scaffold.Table(name); got != want {
			t.Errorf("Table(%q) = %q, want %q", name, got, want)
		}
	}
}
