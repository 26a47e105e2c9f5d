package reliability

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
)

var bin struct {
	once    sync.Once
	dir     string // holds ffwasmhost and plugins/
	err     error
	cleanup func()
}

// daemonBinary builds cmd/ffwasmhost and both plugins once per process and
// returns the binary and a directory holding the two .wasm files.
func daemonBinary(tb testing.TB) (binary, pluginDir string) {
	tb.Helper()
	bin.once.Do(func() {
		bin.dir, bin.err = os.MkdirTemp("", "ffwasmhost-reliability-")
		if bin.err != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(bin.dir, "ffwasmhost"), "../../cmd/ffwasmhost").CombinedOutput()
		if err != nil {
			bin.err = &buildError{string(out), err}
			return
		}
		if bin.err = os.Mkdir(filepath.Join(bin.dir, "plugins"), 0o755); bin.err != nil {
			return
		}
		for _, name := range []string{"budget_reset", "worker_ttl"} {
			wasm, err := plugintest.BuildWasm("../../plugins/" + name)
			if err != nil {
				bin.err = err
				return
			}
			b, err := os.ReadFile(wasm)
			if err == nil {
				err = os.WriteFile(filepath.Join(bin.dir, "plugins", name+".wasm"), b, 0o644)
			}
			if err != nil {
				bin.err = err
				return
			}
		}
	})
	if bin.err != nil {
		tb.Fatalf("build daemon: %v", bin.err)
	}
	return filepath.Join(bin.dir, "ffwasmhost"), filepath.Join(bin.dir, "plugins")
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// removeBinary deletes what daemonBinary built; TestMain calls it.
func removeBinary() {
	if bin.dir != "" {
		os.RemoveAll(bin.dir)
	}
}
