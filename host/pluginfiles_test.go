package host_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
)

func TestPluginFilesFollowsSymlinksToFiles(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	for _, f := range []string{"a.wasm", ".hidden.wasm", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(other, "real.wasm")
	os.WriteFile(target, []byte("x"), 0o644)
	os.Symlink(target, filepath.Join(dir, "linked.wasm"))
	os.Symlink(other, filepath.Join(dir, "dir.wasm"))
	os.Symlink(filepath.Join(other, "gone"), filepath.Join(dir, "dangling.wasm"))
	os.Mkdir(filepath.Join(dir, "sub.wasm"), 0o755)

	got, err := host.PluginFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a.wasm"), filepath.Join(dir, "linked.wasm")}
	if !slices.Equal(got, want) {
		t.Errorf("PluginFiles = %v, want %v", got, want)
	}
}
