package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// rssArgs tell the child what to load and run.
type rssArgs struct {
	Cache   string            // a warm compilation cache, as a daemon restart has
	Budgets string            // prepared databases, copied by the child
	Workers string            //
	Work    string            // the child's scratch directory
	Wasm    map[string]string // plugin files by name
	Due     int
	Expired int
}

// rssPoint is one sample of the child's memory.
type rssPoint struct {
	RSS       float64 `json:"vm_rss_mib"`      // VmRSS of /proc/self/status
	HWM       float64 `json:"vm_hwm_mib"`      // VmHWM: peak RSS so far
	HeapInuse float64 `json:"heap_inuse_mib"`  // runtime.MemStats.HeapInuse
	HeapAlloc float64 `json:"heap_alloc_mib"`  // runtime.MemStats.HeapAlloc
	GoSys     float64 `json:"go_sys_mib"`      // runtime.MemStats.Sys: all the Go runtime got from the OS
	WasmMem   float64 `json:"wasm_memory_mib"` // the two instances' linear memory sizes
}

type rssReport struct {
	Idle  rssPoint `json:"idle"`
	After rssPoint `json:"after_drains"`
	Churn rssPoint `json:"after_churn"`
}

// churnRounds is how many times the child replaces each plugin's instance
// after the drains, as a daemon does after failed ticks.
const churnRounds = 10

var rssFields = []struct {
	name, title string
	get         func(rssReport) float64
}{
	{"rss_idle", "daemon-like process, both plugins loaded, idle: VmRSS", func(r rssReport) float64 { return r.Idle.RSS }},
	{"rss_after", "same, after the budget drain and the worker sweep: VmRSS", func(r rssReport) float64 { return r.After.RSS }},
	{"rss_churn", "same, after replacing each instance 10 more times (as after failed ticks): VmRSS", func(r rssReport) float64 { return r.Churn.RSS }},
	{"rss_peak", "same, peak VmRSS (VmHWM) over the whole run", func(r rssReport) float64 { return r.Churn.HWM }},
	{"heap_inuse_idle", "Go heap in use, idle", func(r rssReport) float64 { return r.Idle.HeapInuse }},
	{"heap_inuse_after", "Go heap in use, after the drains", func(r rssReport) float64 { return r.After.HeapInuse }},
	{"go_sys_after", "memory the Go runtime holds from the OS, after the drains (virtual, not resident)", func(r rssReport) float64 { return r.After.GoSys }},
	{"wasm_memory_after", "linear memory of the two instances, after the drains", func(r rssReport) float64 { return r.After.WasmMem }},
}

func runRSSChild(exe string, a rssArgs) (rssReport, error) {
	var rep rssReport
	js, err := json.Marshal(a)
	if err != nil {
		return rep, err
	}
	cmd := exec.Command(exe, "-child-rss", "-child-args", string(js))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return rep, fmt.Errorf("child: %w", err)
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &rep); err != nil {
		return rep, fmt.Errorf("child output %q: %w", out, err)
	}
	return rep, nil
}

// rssChild is a daemon in miniature: an engine on a warm cache, both
// plugins loaded, one runner each with a live instance, the host's own
// pool. It samples its memory idle, then after draining and sweeping fresh
// copies of the benchmark databases, and prints both samples as JSON. It
// does not force a GC or return memory to the OS: it reports what a daemon
// would show.
func rssChild(args string) error {
	var a rssArgs
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		return err
	}
	ctx := context.Background()
	if err := os.MkdirAll(a.Work, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(a.Work)
	// One database holds both datasets in the daemon; here each plugin gets
	// its own copy, which costs the child a second connection and page cache.
	bpath, err := copyDB(a.Budgets, a.Work, "budgets.db")
	if err != nil {
		return err
	}
	wpath, err := copyDB(a.Workers, a.Work, "workers.db")
	if err != nil {
		return err
	}
	eng, err := host.NewEngine(host.EngineConfig{CacheDir: a.Cache, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	type bound struct {
		r  *host.Runner
		p  *host.Plugin
		db *sqlite.Store
	}
	var runners []*bound
	for _, c := range []struct{ name, path string }{{"budget_reset", bpath}, {"worker_ttl", wpath}} {
		db, err := sqlite.Open(ctx, c.path, sqlite.Options{})
		if err != nil {
			return err
		}
		defer db.Close()
		p, err := eng.Load(ctx, a.Wasm[c.name], host.Limits{})
		if err != nil {
			return err
		}
		defer p.Close(ctx)
		r, err := host.NewRunner(ctx, db, p, host.RunnerOptions{})
		if err != nil {
			return err
		}
		b := &bound{r, p, db}
		defer func() { b.r.Close(ctx) }()
		runners = append(runners, b)
		if _, err := r.Tick(ctx, 0); err != nil { // nothing due at 0: the idle daemon
			return err
		}
	}
	wasmMem := func() float64 {
		var n uint64
		for _, b := range runners {
			n += b.r.MemoryBytes()
		}
		return float64(n) / (1 << 20)
	}
	var rep rssReport
	rep.Idle = sampleMemory(wasmMem())

	var processed int64
	for {
		r, err := runners[0].r.Tick(ctx, benchNow)
		if err != nil {
			return err
		}
		processed += r.Processed
		if r.Processed == 0 {
			break
		}
	}
	if processed != int64(a.Due) {
		return fmt.Errorf("drain reset %d, want %d", processed, a.Due)
	}
	r, err := runners[1].r.Tick(ctx, benchNow)
	if err != nil {
		return err
	}
	if r.Processed != int64(a.Expired) {
		return fmt.Errorf("sweep deleted %d, want %d", r.Processed, a.Expired)
	}
	rep.After = sampleMemory(wasmMem())

	// Replace every instance churnRounds times: a new Runner starts a new
	// instance on its first tick, and Close discards it.
	for i := 0; i < churnRounds; i++ {
		for _, b := range runners {
			if err := b.r.Close(ctx); err != nil {
				return err
			}
			if b.r, err = host.NewRunner(ctx, b.db, b.p, host.RunnerOptions{}); err != nil {
				return err
			}
			if _, err := b.r.Tick(ctx, 0); err != nil {
				return err
			}
		}
	}
	rep.Churn = sampleMemory(wasmMem())
	return json.NewEncoder(os.Stdout).Encode(rep)
}

func sampleMemory(wasmMiB float64) rssPoint {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p := rssPoint{
		HeapInuse: mib(ms.HeapInuse),
		HeapAlloc: mib(ms.HeapAlloc),
		GoSys:     mib(ms.Sys),
		WasmMem:   wasmMiB,
	}
	p.RSS, p.HWM = procStatus("VmRSS"), procStatus("VmHWM")
	if os.Getenv("FFBENCH_SMAPS") != "" {
		fmt.Fprintf(os.Stderr, "rss child: VmRSS %.1f MiB, heap in use %.1f MiB\n%s", p.RSS, p.HeapInuse, smapsSummary())
		if dir := os.Getenv("FFBENCH_SMAPS"); strings.HasPrefix(dir, "/") {
			f, err := os.CreateTemp(dir, "heap-*.pprof")
			if err == nil {
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}
	}
	return p
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// procStatus returns a "kB" field of /proc/self/status in MiB, or -1.
func procStatus(field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			return -1
		}
		return n / 1024
	}
	return -1
}

// smapsSummary is the resident memory of /proc/self/smaps by mapping name
// (anonymous mappings grouped by size class), largest first; the child
// prints it to stderr when FFBENCH_SMAPS is set, to see where RSS goes.
func smapsSummary() string {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	byName := map[string]float64{}
	var name string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			var lo, hi uint64
			fmt.Sscanf(fields[0], "%x-%x", &lo, &hi)
			name = "[anon]"
			if len(fields) >= 6 {
				name = fields[5]
			}
			if name == "[anon]" {
				switch size := hi - lo; {
				case size >= 1<<30:
					name = "[anon >=1GiB]"
				case size >= 60<<20:
					name = "[anon 60MiB-1GiB]"
				case size >= 4<<20:
					name = "[anon 4-60MiB]"
				default:
					name = "[anon <4MiB]"
				}
				name += " " + fields[1]
			}
			continue
		}
		if len(fields) == 3 && fields[0] == "Rss:" {
			n, _ := strconv.ParseFloat(fields[1], 64)
			byName[name] += n / 1024
		}
	}
	type kv struct {
		k string
		v float64
	}
	var all []kv
	for k, v := range byName {
		all = append(all, kv{k, v})
	}
	slices.SortFunc(all, func(a, b kv) int { return cmp.Compare(b.v, a.v) })
	var b strings.Builder
	for i, e := range all {
		if i == 12 || e.v < 0.5 {
			break
		}
		fmt.Fprintf(&b, "  %7.1f MiB  %s\n", e.v, e.k)
	}
	return b.String()
}
