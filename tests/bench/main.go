// Command bench measures the cost of running the reconcilers as sandboxed
// wasm plugins against the same reconcilers written natively in Go.
// `make bench` runs
//
//	go run ./tests/bench -out build/bench
//
// and writes a plain table to stdout, build/bench/results.json, the same
// tables in Markdown (build/bench/results.md), and a bar chart of the
// ratios to build/bench/ratios.svg (copied to docs/bench-ratios.svg). BENCHMARKS.md at the repository root explains
// every figure.
//
// Every scenario runs its sides interleaved in one process, each run on a
// fresh copy of the same prepared database file, and reports medians.
// Resident memory is measured in a child process (this binary re-executed
// with -child-rss), so the benchmark's own data does not count.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
)

var (
	flagOut        = flag.String("out", "build/bench", "directory for results.json and ratios.svg")
	flagChartCopy  = flag.String("chart-copy", "docs/bench-ratios.svg", "also write the chart here (empty: don't)")
	flagRuns       = flag.Int("runs", 5, "interleaved runs per scenario")
	flagIdleTicks  = flag.Int("idle-ticks", 2000, "ticks per run of the budget_reset idle-tick scenario")
	flagIdleTTL    = flag.Int("idle-ttl-ticks", 40, "ticks per run of the worker_ttl idle-tick scenario (each scans the registry)")
	flagRoundTrips = flag.Int("roundtrips", 100_000, "statements per run of the round-trip scenario")
	flagQuick      = flag.Bool("quick", false, "a tenth of the data and fewer ticks: for trying the tool, not for figures")
	flagCPUProfile = flag.String("cpuprofile", "", "write a CPU profile of scenarios 1-4 here; wasm runs carry the label side=wasm (go tool pprof -tagfocus=side=wasm FILE)")
	flagOnly       = flag.String("only", "", "comma-separated scenarios to run (drain,sweep,idle,roundtrip,load,instance,rss,perplugin,idlescale,backlog,pg); default all")
	flagRender     = flag.String("render", "", "re-render the table, results.md and the chart from this results.json instead of measuring")
	flagChildRSS   = flag.Bool("child-rss", false, "internal: run as the resident-memory child")
	flagChildArgs  = flag.String("child-args", "", "internal: JSON arguments of the resident-memory child")
	flagChildPer   = flag.Bool("child-perplugin", false, "internal: run as the per-plugin memory child")
)

func main() {
	flag.Parse()
	log.SetFlags(0)
	if *flagChildRSS {
		if err := rssChild(*flagChildArgs); err != nil {
			log.Fatalf("rss child: %v", err)
		}
		return
	}
	if *flagChildPer {
		if err := perPluginChild(*flagChildArgs); err != nil {
			log.Fatalf("per-plugin child: %v", err)
		}
		return
	}
	if *flagRender != "" {
		if err := render(*flagRender); err != nil {
			log.Fatalf("bench: %v", err)
		}
		return
	}
	if err := run(); err != nil {
		log.Fatalf("bench: %v", err)
	}
}

// bench holds what every scenario shares.
type bench struct {
	ctx     context.Context
	work    string // scratch directory, removed at the end
	sizes   sizes
	budgets string // prepared budget database
	workers string // prepared worker database
	wasm    map[string]string
	cache   string // compilation cache of the engine below
	eng     *host.Engine
	plugins map[string]*host.Plugin
	res     *Results
	only    map[string]bool
}

func (b *bench) want(s string) bool { return len(b.only) == 0 || b.only[s] }

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }

func run() error {
	start := time.Now()
	ctx := context.Background()
	b := &bench{ctx: ctx, sizes: fullSizes, plugins: map[string]*host.Plugin{}, only: map[string]bool{}}
	if *flagOnly != "" {
		for _, s := range strings.Split(*flagOnly, ",") {
			b.only[strings.TrimSpace(s)] = true
		}
	}
	if *flagQuick {
		b.sizes = sizes{Budgets: fullSizes.Budgets / 10, DueBudgets: fullSizes.DueBudgets / 10,
			Workers: fullSizes.Workers / 10, Expired: fullSizes.Expired / 10}
		*flagIdleTicks /= 10
		*flagRoundTrips /= 10
		*flagRuns = min(*flagRuns, 3)
	}
	if *flagRuns < 1 {
		return fmt.Errorf("-runs must be at least 1")
	}
	if err := os.MkdirAll(*flagOut, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "ffbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b.work = work
	b.res = newResults(b.sizes)

	logf("building plugins")
	b.wasm = map[string]string{}
	for name, pkg := range map[string]string{
		"budget_reset":    "github.com/ffwasmhost/ffwasmhost/plugins/budget_reset",
		"worker_ttl":      "github.com/ffwasmhost/ffwasmhost/plugins/worker_ttl",
		"bench_roundtrip": "github.com/ffwasmhost/ffwasmhost/tests/bench/plugins/roundtrip",
	} {
		built, err := plugintest.BuildWasm(pkg)
		if err != nil {
			return err
		}
		// plugintest's build directory is shared by every process that
		// builds plugins (tests running meanwhile rewrite it): keep a copy.
		wasm, err := os.ReadFile(built)
		if err != nil {
			return err
		}
		b.wasm[name] = filepath.Join(work, name+".wasm")
		if err := os.WriteFile(b.wasm[name], wasm, 0o644); err != nil {
			return err
		}
		b.res.Machine.PluginBytes[name] = int64(len(wasm))
	}

	logf("preparing databases: %d budgets (%d due), %d workers (%d expired)",
		b.sizes.Budgets, b.sizes.DueBudgets, b.sizes.Workers, b.sizes.Expired)
	b.budgets = filepath.Join(work, "budgets.db")
	if err := createDB(ctx, b.budgets, fillBudgets(b.sizes)); err != nil {
		return fmt.Errorf("prepare budget database: %w", err)
	}
	b.workers = filepath.Join(work, "workers.db")
	if err := createDB(ctx, b.workers, fillWorkers(b.sizes)); err != nil {
		return fmt.Errorf("prepare worker database: %w", err)
	}

	b.cache = filepath.Join(work, "cache")
	if b.eng, err = host.NewEngine(host.EngineConfig{CacheDir: b.cache, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		return err
	}
	for name, path := range b.wasm {
		if b.plugins[name], err = b.eng.Load(ctx, path, host.Limits{}); err != nil {
			return err
		}
	}
	defer func() {
		for _, p := range b.plugins {
			p.Close(ctx)
		}
		b.eng.Close(ctx)
	}()

	if *flagCPUProfile != "" {
		f, err := os.Create(*flagCPUProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		logf("CPU profile of scenarios 1-4 to %s (wasm runs labelled side=wasm)", *flagCPUProfile)
		defer f.Close()
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"drain", b.drain},
		{"sweep", b.sweep},
		{"idle", b.idle},
		{"roundtrip", b.roundTrip},
	}
	for _, s := range steps {
		if !b.want(s.name) {
			continue
		}
		if err := s.fn(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	if *flagCPUProfile != "" {
		pprof.StopCPUProfile()
	}
	if b.want("load") {
		if err := b.load(); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
	if b.want("instance") {
		if err := b.instance(); err != nil {
			return fmt.Errorf("instance: %w", err)
		}
	}
	if b.want("rss") {
		if err := b.rss(); err != nil {
			return fmt.Errorf("rss: %w", err)
		}
	}
	if b.want("perplugin") {
		if err := b.perPlugin(); err != nil {
			return fmt.Errorf("per-plugin memory: %w", err)
		}
	}
	if b.want("idlescale") {
		if err := b.idleScale(); err != nil {
			return fmt.Errorf("idle scale: %w", err)
		}
	}
	if b.want("backlog") {
		if err := b.drainBacklog(); err != nil {
			return fmt.Errorf("backlog drain: %w", err)
		}
	}
	if b.want("pg") {
		if err := b.pgBench(); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
	}

	b.res.Machine.LoadAvg = append(b.res.Machine.LoadAvg, loadAvg())
	b.res.evaluate()
	b.res.Elapsed = time.Since(start).Round(time.Second).String()
	js, err := json.MarshalIndent(b.res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*flagOut, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := b.res.write(len(b.only) == 0 && !*flagQuick); err != nil {
		return err
	}
	logf("wrote %s in %s", *flagOut, b.res.Elapsed)
	return nil
}

// render re-reads a results.json and writes the outputs made from it.
func render(path string) error {
	js, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	res := &Results{}
	if err := json.Unmarshal(js, res); err != nil {
		return err
	}
	return res.write(true)
}

// write prints the table and writes results.md and the chart; the chart is
// copied to -chart-copy only for a full run.
func (r *Results) write(full bool) error {
	r.printTable(os.Stdout)
	var md strings.Builder
	r.writeMarkdown(&md)
	if err := os.WriteFile(filepath.Join(*flagOut, "results.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	svg := r.chartSVG()
	if err := os.WriteFile(filepath.Join(*flagOut, "ratios.svg"), svg, 0o644); err != nil {
		return err
	}
	if *flagChartCopy != "" && full {
		if err := os.MkdirAll(filepath.Dir(*flagChartCopy), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(*flagChartCopy, svg, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// machineInfo describes where the figures were taken.
func machineInfo() Machine {
	m := Machine{
		NumCPU:      runtime.NumCPU(),
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
		GoVersion:   runtime.Version(),
		OS:          runtime.GOOS + "/" + runtime.GOARCH,
		Date:        time.Now().UTC().Format(time.RFC3339),
		PluginBytes: map[string]int64{},
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	m.LoadAvg = []string{loadAvg()}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			m.Commit += "+dirty"
		}
	}
	return m
}

// loadAvg is /proc/loadavg's first three fields: other work on the machine
// during the run makes every figure noisier.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
