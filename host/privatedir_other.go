//go:build !unix

package host

import "os"

// PrivateDir makes dir, and any missing parent, with mode 0700. Ownership
// is not checked on this platform.
func PrivateDir(dir string) error { return os.MkdirAll(dir, 0o700) }
