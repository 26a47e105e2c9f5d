// Package hostile holds a corpus of hand-written WebAssembly modules built
// to break the host's sandbox (testdata/*.wat, assembled beside each as
// .wasm) and checks, module by module, that it holds: the modules the Go
// compiler never emits, such as code that writes the globals the host
// injects, recursion without loops, start functions that never return or
// transactions left open in every way.
//
// The expectation table (corpus, table_test.go) says what each module
// attacks and what must happen to it. TestCorpusListed and
// TestCorpusAssembles keep the table, the .wat sources and the committed
// .wasm files in step. TestInProcess runs each module under the host's
// Engine and Supervisor, beside a good plugin, in a child process of its
// own that the test can kill: a guest the host fails to stop must not take
// the test down with it. TestDaemon runs them all in the built ffwasmhost
// binary, beside budget_reset and worker_ttl, as an operator would.
package hostile

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envHelper); mode != "" {
		os.Exit(helperMain(mode))
	}
	code := m.Run()
	if daemonBuild.dir != "" {
		os.RemoveAll(daemonBuild.dir)
	}
	os.Exit(code)
}

// helperMain runs this binary as one of the helper processes.
func helperMain(mode string) int {
	switch mode {
	case "lockprobe":
		return lockProbeMain()
	}
	fmt.Fprintf(os.Stderr, "unknown %s %q\n", envHelper, mode)
	return 2
}

// artifacts are the files the tests share: built plugins and the
// compilation cache.
type artifacts struct {
	good        string // host/testdata/plugins/good
	budgetReset string // plugins/budget_reset
	workerTTL   string // plugins/worker_ttl
	cache       string // wazero's compilation cache, shared by every process
}

var shared struct {
	once sync.Once
	a    artifacts
	err  error
}

// built returns the shared artifacts: in a child, the ones its parent
// passed; otherwise built once per process (Go's build cache makes that
// quick after the first time).
func built(t *testing.T) artifacts {
	t.Helper()
	if inChild() {
		return artifacts{good: os.Getenv(envGood), budgetReset: os.Getenv(envBudgetReset), cache: os.Getenv(envCache)}
	}
	shared.once.Do(func() {
		a := artifacts{cache: plugintest.CacheDir()}
		for _, b := range []struct {
			dst *string
			pkg string
		}{
			{&a.good, "../../host/testdata/plugins/good"},
			{&a.budgetReset, "../../plugins/budget_reset"},
			{&a.workerTTL, "../../plugins/worker_ttl"},
		} {
			if *b.dst, shared.err = plugintest.BuildWasm(b.pkg); shared.err != nil {
				return
			}
		}
		shared.a = a
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.a
}

// childEnv is what a child needs from its parent.
func (a artifacts) childEnv() []string {
	return []string{envChild + "=1", envGood + "=" + a.good, envBudgetReset + "=" + a.budgetReset, envCache + "=" + a.cache}
}

// wasmPath returns the absolute path of a module of the corpus.
func wasmPath(t *testing.T, file string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", file+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
