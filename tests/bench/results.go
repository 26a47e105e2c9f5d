package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Results is everything results.json holds.
type Results struct {
	Machine    Machine     `json:"machine"`
	Settings   Settings    `json:"settings"`
	Scenarios  []*Scenario `json:"scenarios"`
	Measures   []*Measure  `json:"measures"`
	Targets    []Target    `json:"targets"`
	Elapsed    string      `json:"elapsed"`
	scenarioBy map[string]*Scenario
	measureBy  map[string]*Measure
}

// Machine is where the figures were taken.
type Machine struct {
	CPU         string           `json:"cpu"`
	NumCPU      int              `json:"num_cpu"`
	GOMAXPROCS  int              `json:"gomaxprocs"`
	GoVersion   string           `json:"go_version"`
	OS          string           `json:"os"`
	Commit      string           `json:"commit"`
	Date        string           `json:"date"`
	LoadAvg     []string         `json:"loadavg_start_end"`
	PluginBytes map[string]int64 `json:"plugin_bytes"`
}

// Settings are the conditions of the run.
type Settings struct {
	Command     string `json:"command"`
	Durability  string `json:"durability"`
	Runs        int    `json:"runs"`
	Sizes       sizes  `json:"sizes"`
	IdleTicks   int    `json:"idle_ticks"`
	IdleTTL     int    `json:"idle_ttl_ticks"`
	RoundTrips  int    `json:"roundtrips"`
	Quick       bool   `json:"quick"`
	MemoryLimit string `json:"plugin_memory_limit"`
}

// Stat is one side of a scenario: a value per run and their median. For
// the idle tick the value is the run's p50 and P99 the run's p99.
type Stat struct {
	Runs    []float64 `json:"runs"`
	Median  float64   `json:"median"`
	P99Runs []float64 `json:"p99_runs,omitempty"`
	P99     float64   `json:"p99_median,omitempty"`
}

// Scenario compares native and wasm.
type Scenario struct {
	Name           string         `json:"name"`
	Title          string         `json:"title"`
	Unit           string         `json:"unit"`
	Native         *Stat          `json:"native"`
	NativePrepared *Stat          `json:"native_prepared"`
	Wasm           *Stat          `json:"wasm"`
	WasmStdSQL     *Stat          `json:"wasm_database_sql,omitempty"` // round trip: through database/sql in the guest
	WasmRaw        *Stat          `json:"wasm_raw,omitempty"`          // round trip: the bare host call
	Ratio          float64        `json:"ratio_wasm_native"`
	RatioPrepared  float64        `json:"ratio_wasm_native_prepared"`
	Extra          map[string]any `json:"extra,omitempty"`
}

// Measure is a figure with no native counterpart.
type Measure struct {
	Name   string    `json:"name"`
	Title  string    `json:"title"`
	Unit   string    `json:"unit"`
	Runs   []float64 `json:"runs"`
	Median float64   `json:"median"`
}

// Target is one of the benchmark's targets and whether this run met it.
type Target struct {
	Name  string  `json:"name"`
	Rule  string  `json:"rule"`
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	Unit  string  `json:"unit"`
	Met   bool    `json:"met"`
	Basis string  `json:"basis"`
}

func newResults(s sizes) *Results {
	return &Results{
		Machine: machineInfo(),
		Settings: Settings{
			Command:     "go run ./tests/bench -out build/bench",
			Durability:  "journal_mode=WAL, synchronous=NORMAL, busy_timeout=5000 (the daemon's default, sqlite.Options{}), both sides",
			Runs:        *flagRuns,
			Sizes:       s,
			IdleTicks:   *flagIdleTicks,
			IdleTTL:     *flagIdleTTL,
			RoundTrips:  *flagRoundTrips,
			Quick:       *flagQuick,
			MemoryLimit: "64 MiB (host.DefaultLimits)",
		},
		scenarioBy: map[string]*Scenario{},
		measureBy:  map[string]*Measure{},
	}
}

func (r *Results) addScenario(name, title, unit string) *Scenario {
	s := &Scenario{Name: name, Title: title, Unit: unit, Native: &Stat{}, NativePrepared: &Stat{}, Wasm: &Stat{}, Extra: map[string]any{}}
	r.Scenarios = append(r.Scenarios, s)
	r.scenarioBy[name] = s
	return s
}

func (r *Results) addMeasure(name, title, unit string) *Measure {
	m := &Measure{Name: name, Title: title, Unit: unit}
	r.Measures = append(r.Measures, m)
	r.measureBy[name] = m
	return m
}

func (s *Scenario) stat(side string) *Stat {
	switch side {
	case sideNative:
		return s.Native
	case sidePrepared:
		return s.NativePrepared
	case sideWasm:
		return s.Wasm
	case "wasm_database_sql":
		if s.WasmStdSQL == nil {
			s.WasmStdSQL = &Stat{}
		}
		return s.WasmStdSQL
	case "wasm_raw":
		if s.WasmRaw == nil {
			s.WasmRaw = &Stat{}
		}
		return s.WasmRaw
	}
	panic("unknown side " + side)
}

func (s *Scenario) add(side string, v float64) {
	st := s.stat(side)
	st.Runs = append(st.Runs, v)
	st.Median = median(st.Runs)
	s.ratios()
}

func (s *Scenario) addP(side string, p50, p99 float64) {
	st := s.stat(side)
	st.Runs = append(st.Runs, p50)
	st.Median = median(st.Runs)
	st.P99Runs = append(st.P99Runs, p99)
	st.P99 = median(st.P99Runs)
	s.ratios()
}

func (s *Scenario) ratios() {
	if s.Native.Median > 0 {
		s.Ratio = s.Wasm.Median / s.Native.Median
	}
	if s.NativePrepared.Median > 0 {
		s.RatioPrepared = s.Wasm.Median / s.NativePrepared.Median
	}
}

func (m *Measure) add(v float64) {
	m.Runs = append(m.Runs, v)
	m.Median = median(m.Runs)
}

// evaluate checks every target against the figures it has.
func (r *Results) evaluate() {
	r.Targets = nil
	add := func(name, rule string, value, limit float64, unit, basis string) {
		r.Targets = append(r.Targets, Target{name, rule, value, limit, unit, value <= limit, basis})
	}
	for _, n := range []string{"budget_drain", "worker_sweep"} {
		if s := r.scenarioBy[n]; s != nil {
			add(n+" ratio", "wasm/native <= 1.10", s.Ratio, 1.10, "x", "vs native (same code, statement text per call)")
			add(n+" ratio (strict)", "wasm/native <= 1.10", s.RatioPrepared, 1.10, "x", "vs native_prepared (statements prepared once, as the host does)")
		}
	}
	if s := r.scenarioBy["idle_budget_reset"]; s != nil {
		add("idle tick added p50", "wasm p50 - native p50 <= 0.2 ms", (s.Wasm.Median-s.Native.Median)/1000, 0.2, "ms", "budget_reset, vs native")
		add("idle tick added p50 (strict)", "wasm p50 - native p50 <= 0.2 ms", (s.Wasm.Median-s.NativePrepared.Median)/1000, 0.2, "ms", "budget_reset, vs native_prepared")
	}
	if s := r.scenarioBy["idle_worker_ttl"]; s != nil {
		add("idle tick added p50, worker_ttl", "wasm p50 - native p50 <= 0.2 ms", (s.Wasm.Median-s.NativePrepared.Median)/1000, 0.2, "ms", "worker_ttl, vs native_prepared")
	}
	if s := r.scenarioBy["roundtrip"]; s != nil {
		add("host call overhead", "wasm ns/call - native ns/call <= 3 µs", (s.Wasm.Median-s.Native.Median)/1000, 3, "µs", "SELECT 1, QueryRow+Scan: guest SDK vs native database/sql")
		add("host call overhead (strict)", "wasm ns/call - native ns/call <= 3 µs", (s.Wasm.Median-s.NativePrepared.Median)/1000, 3, "µs", "vs native_prepared")
		add("host call round trip, absolute", "wasm ns/call <= 3 µs", s.Wasm.Median/1000, 3, "µs", "the whole wasm per-call time, SQLite work included")
		if s.WasmRaw != nil {
			add("bare host call overhead", "wasm ns/call - native ns/call <= 3 µs", (s.WasmRaw.Median-s.NativePrepared.Median)/1000, 3, "µs", "sql_query called directly, vs native_prepared")
		}
	}
	for _, n := range []string{"budget_reset", "worker_ttl"} {
		if m := r.measureBy["load_warm_"+n]; m != nil {
			add("warm load "+n, "<= 150 ms", m.Median, 150, "ms", "second engine on the same compilation cache dir")
		}
		if m := r.measureBy["instance_"+n]; m != nil {
			add("instance creation "+n, "<= 5 ms", m.Median, 5, "ms", "first tick of a new Runner without a spare instance minus one with")
		}
	}
	for _, n := range []string{"budget_reset", "worker_ttl"} {
		if m := r.measureBy["idle_process_"+n+"_ratio"]; m != nil {
			add("idle tick at 10× the rows "+n, "<= 1.3x", m.Median, 1.3, "x", "whole `ffwasmhost tick` process, 2,000,000 rows vs 200,000, nothing due")
		}
		if m := r.measureBy["idle_lock_"+n]; m != nil {
			add("idle tick write lock "+n, "= 0 ms", m.Median, 0, "ms", "write lock held by 20 idle ticks at 2,000,000 rows")
		}
	}
	if m := r.measureBy["drain_backlog_total"]; m != nil {
		add("backlog of 10,000 budgets drained", "<= 60 s", m.Median, 60, "s", "--drain, 15 s interval, from daemon start")
	}
	if m := r.measureBy["drain_writer_busy_errors"]; m != nil {
		add("application writer busy errors while draining", "= 0", m.Median, 0, "count", "5 s busy timeout, a write every 10 ms")
	}
	for _, n := range []string{"rss_idle", "rss_after", "rss_churn", "rss_peak"} {
		if m := r.measureBy[n]; m != nil {
			add(n, "<= 80 MiB", m.Median, 80, "MiB", "child process, both plugins loaded")
		}
	}
}

func (r *Results) printTable(w io.Writer) {
	fmt.Fprintf(w, "\nffwasmhost benchmarks — %s, %d CPU (GOMAXPROCS %d), %s, commit %s\n",
		r.Machine.CPU, r.Machine.NumCPU, r.Machine.GOMAXPROCS, r.Machine.GoVersion, r.Machine.Commit)
	fmt.Fprintf(w, "durability: %s; medians of %d interleaved runs; load average at start/end: %s\n\n",
		r.Settings.Durability, r.Settings.Runs, strings.Join(r.Machine.LoadAvg, " / "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tunit\tnative\tnative_prepared\twasm\twasm/native\twasm/native_prepared\t")
	for _, s := range r.Scenarios {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.3f\t%.3f\t\n", s.Name, s.Unit,
			num(s.Native.Median), num(s.NativePrepared.Median), num(s.Wasm.Median), s.Ratio, s.RatioPrepared)
		if s.Native.P99 > 0 {
			fmt.Fprintf(tw, "%s p99\t%s\t%s\t%s\t%s\t%.3f\t%.3f\t\n", s.Name, s.Unit,
				num(s.Native.P99), num(s.NativePrepared.P99), num(s.Wasm.P99), s.Wasm.P99/s.Native.P99, s.Wasm.P99/s.NativePrepared.P99)
		}
		for _, x := range []struct {
			label string
			st    *Stat
		}{{"through database/sql in the guest", s.WasmStdSQL}, {"bare host call", s.WasmRaw}} {
			if x.st != nil {
				fmt.Fprintf(tw, "%s: %s\t%s\t\t\t%s\t%.3f\t%.3f\t\n", s.Name, x.label, s.Unit,
					num(x.st.Median), x.st.Median/s.Native.Median, x.st.Median/s.NativePrepared.Median)
			}
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tmedian\tunit\truns\tdescription")
	for _, m := range r.Measures {
		runs := make([]string, len(m.Runs))
		for i, v := range m.Runs {
			runs[i] = num(v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Name, num(m.Median), m.Unit, strings.Join(runs, " "), m.Title)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tvalue\tlimit\tmet\tbasis")
	for _, t := range r.Targets {
		met := "MET"
		if !t.Met {
			met = "MISSED"
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s %s\t%s\t%s\n", t.Name, num(t.Value), t.Unit, num(t.Limit), t.Unit, met, t.Basis)
	}
	tw.Flush()
}

// num formats a figure with three significant digits or so.
func num(v float64) string {
	a := v
	if a < 0 {
		a = -a
	}
	switch {
	case a == 0:
		return "0"
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	case a >= 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}
