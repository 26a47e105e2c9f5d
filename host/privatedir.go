//go:build unix

package host

import (
	"fmt"
	"os"
	"syscall"
)

// PrivateDir makes dir, and any missing parent, with mode 0700, and checks
// that dir is a directory of the current user that no other user may
// write to. A directory of this user with a wider mode is narrowed to
// 0700. The compilation cache holds machine code the process runs, so it
// must be protected like the binary itself.
func PrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory (a symlink is refused: it could point anywhere)", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to user %d, not to this user (%d): another user could plant machine code in it", dir, st.Uid, os.Getuid())
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("%s has mode %v and cannot be narrowed to 0700: %w", dir, fi.Mode().Perm(), err)
		}
	}
	return nil
}
