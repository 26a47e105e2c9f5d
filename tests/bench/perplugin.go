package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// Scenario 7, the resident memory one more loaded plugin costs, per kind:
// a child process loads n copies of one build of budget_reset, each with
// a Runner whose instance has run an idle tick, as a daemon holds them;
// the cost of a plugin is (RSS with perPluginMany copies - RSS with 1) /
// (perPluginMany - 1). Each copy is its own Plugin (runtime, compiled
// code from the warm cache, instance, connection), as 50 files in a
// plugin directory would be.

const perPluginMany = 11

// perPluginKinds are the builds measured: the Go plugin the benchmark
// builds, and the C, Rust and Extism builds `make plugins` leaves in
// build/plugins (a kind whose file is missing is skipped with a line).
var perPluginKinds = []struct{ kind, file string }{
	{"go", ""},
	{"c", "build/plugins/budget_reset_c.wasm"},
	{"rust", "build/plugins/budget_reset_rust.wasm"},
	{"extism", "build/plugins/budget_reset_extism.wasm"},
}

// perPluginArgs tell the child what to load.
type perPluginArgs struct {
	Cache string
	DB    string // a prepared database, copied by the child
	Work  string
	Wasm  string
	N     int
}

func (b *bench) perPlugin() error {
	logf("scenario 7: resident memory per loaded plugin, per kind (1 and %d copies, 3 runs each)", perPluginMany)
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	for _, k := range perPluginKinds {
		wasm := k.file
		if k.kind == "go" {
			wasm = b.wasm["budget_reset"]
		}
		if _, err := os.Stat(wasm); err != nil {
			logf("scenario 7: skipping the %s kind: %v (run make plugins)", k.kind, err)
			continue
		}
		// Compile it into the shared cache first, as a restarted daemon
		// finds it: the children measure loading, not compiling.
		p, err := b.eng.Load(b.ctx, wasm, host.Limits{})
		if err != nil {
			return fmt.Errorf("%s: %w", k.kind, err)
		}
		p.Close(b.ctx)
		m := b.res.addMeasure("plugin_rss_"+k.kind,
			fmt.Sprintf("resident memory of one more loaded %s plugin (budget_reset, live instance): (VmRSS with %d - with 1) / %d", k.kind, perPluginMany, perPluginMany-1), "MiB")
		one := b.res.addMeasure("plugin_rss_"+k.kind+"_one", "VmRSS of the child with one "+k.kind+" plugin loaded", "MiB")
		for run := 0; run < 3; run++ {
			var rss [2]float64
			for i, n := range []int{1, perPluginMany} {
				if rss[i], err = runPerPluginChild(exe, perPluginArgs{
					Cache: b.cache, DB: b.budgets, Wasm: wasm, N: n,
					Work: filepath.Join(b.work, fmt.Sprintf("perplugin-%s-%d-%d", k.kind, run, n)),
				}); err != nil {
					return fmt.Errorf("%s, %d copies: %w", k.kind, n, err)
				}
			}
			one.add(rss[0])
			m.add((rss[1] - rss[0]) / (perPluginMany - 1))
		}
	}
	return nil
}

func runPerPluginChild(exe string, a perPluginArgs) (float64, error) {
	js, err := json.Marshal(a)
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(exe, "-child-perplugin", "-child-args", string(js))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("child: %w", err)
	}
	return strconv.ParseFloat(string(trimSpace(out)), 64)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// perPluginChild loads a.N copies of a.Wasm, ticks each once with nothing
// due, and prints its VmRSS in MiB after a GC, so that garbage left by
// loading does not count.
func perPluginChild(args string) error {
	var a perPluginArgs
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		return err
	}
	ctx := context.Background()
	if err := os.MkdirAll(a.Work, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(a.Work)
	path, err := copyDB(a.DB, a.Work, "budgets.db")
	if err != nil {
		return err
	}
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	eng, err := host.NewEngine(host.EngineConfig{CacheDir: a.Cache, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer eng.Close(ctx)
	for i := 0; i < a.N; i++ {
		p, err := eng.Load(ctx, a.Wasm, host.Limits{})
		if err != nil {
			return err
		}
		defer p.Close(ctx)
		r, err := host.NewRunner(ctx, db, p, host.RunnerOptions{})
		if err != nil {
			return err
		}
		defer r.Close(ctx)
		if _, err := r.Tick(ctx, 0); err != nil { // nothing due at 0
			return err
		}
	}
	runtime.GC()
	_, err = fmt.Println(strconv.FormatFloat(procStatus("VmRSS"), 'f', 3, 64))
	return err
}
