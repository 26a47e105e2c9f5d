//go:build unix

package host_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
)

func TestPrivateDir(t *testing.T) {
	root := t.TempDir()
	mode := func(p string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	t.Run("new, with its parents", func(t *testing.T) {
		dir := filepath.Join(root, "a", "b", "cache")
		if err := host.PrivateDir(dir); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{dir, filepath.Dir(dir)} {
			if m := mode(p); m != 0o700 {
				t.Errorf("%s has mode %v, want 0700", p, m)
			}
		}
	})
	t.Run("ours but open to others is narrowed", func(t *testing.T) {
		dir := filepath.Join(root, "wide")
		if err := os.Mkdir(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil { // past the umask
			t.Fatal(err)
		}
		if err := host.PrivateDir(dir); err != nil {
			t.Fatal(err)
		}
		if m := mode(dir); m != 0o700 {
			t.Errorf("mode %v, want 0700", m)
		}
	})
	for _, tc := range []struct {
		name, want string
		make       func(string) error
	}{
		{"a file", "not a directory", func(p string) error { return os.WriteFile(p, nil, 0o600) }},
		{"a symlink", "symlink is refused", func(p string) error { return os.Symlink(root, p) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(root, strings.ReplaceAll(tc.name, " ", "_"))
			if err := tc.make(p); err != nil {
				t.Fatal(err)
			}
			if err := host.PrivateDir(p); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("PrivateDir(%s) = %v, want an error naming it and %q", tc.name, err, tc.want)
			}
		})
	}
	t.Run("another user's", func(t *testing.T) {
		if os.Getuid() != 0 {
			t.Skip("needs root to give a directory to another user")
		}
		dir := filepath.Join(root, "theirs")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if err := host.PrivateDir(dir); err == nil || !strings.Contains(err.Error(), "belongs to user 65534") {
			t.Errorf("PrivateDir = %v, want it refused as another user's", err)
		}
	})
}
