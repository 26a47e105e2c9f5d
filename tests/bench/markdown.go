package main

import (
	"fmt"
	"io"
	"strings"
)

// writeMarkdown writes the tables of BENCHMARKS.md from the results, so the
// document can be refreshed from a run without copying figures by hand.
func (r *Results) writeMarkdown(w io.Writer) {
	fmt.Fprintf(w, "Machine: %s, %d CPU (GOMAXPROCS %d), %s, %s, commit %s, %s; load average at start / end: %s.\n\n",
		r.Machine.CPU, r.Machine.NumCPU, r.Machine.GOMAXPROCS, r.Machine.GoVersion, r.Machine.OS,
		r.Machine.Commit, r.Machine.Date, strings.Join(r.Machine.LoadAvg, " / "))
	fmt.Fprintf(w, "Durability: %s. Medians of %d interleaved runs.\n\n", r.Settings.Durability, r.Settings.Runs)
	fmt.Fprintln(w, "| scenario | unit | native | native_prepared | wasm | wasm/native | wasm/native_prepared |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: |")
	for _, s := range r.Scenarios {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.2f | %.2f |\n", s.Name, s.Unit,
			num(s.Native.Median), num(s.NativePrepared.Median), num(s.Wasm.Median), s.Ratio, s.RatioPrepared)
		if s.Native.P99 > 0 {
			fmt.Fprintf(w, "| %s p99 | %s | %s | %s | %s | %.2f | %.2f |\n", s.Name, s.Unit,
				num(s.Native.P99), num(s.NativePrepared.P99), num(s.Wasm.P99), s.Wasm.P99/s.Native.P99, s.Wasm.P99/s.NativePrepared.P99)
		}
		for _, x := range []struct {
			label string
			st    *Stat
		}{{"through database/sql in the guest (abi/guest/stdlib)", s.WasmStdSQL}, {"bare sql_query host call", s.WasmRaw}} {
			if x.st != nil {
				fmt.Fprintf(w, "| %s: %s | %s | | | %s | %.2f | %.2f |\n", s.Name, x.label, s.Unit,
					num(x.st.Median), x.st.Median/s.Native.Median, x.st.Median/s.NativePrepared.Median)
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| measure | median | unit | runs | what |")
	fmt.Fprintln(w, "| --- | ---: | --- | --- | --- |")
	for _, m := range r.Measures {
		runs := make([]string, len(m.Runs))
		for i, v := range m.Runs {
			runs[i] = num(v)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", m.Name, num(m.Median), m.Unit, strings.Join(runs, " "), m.Title)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | measured | limit | | basis |")
	fmt.Fprintln(w, "| --- | ---: | ---: | --- | --- |")
	for _, t := range r.Targets {
		met := "met"
		if !t.Met {
			met = "**missed**"
		}
		fmt.Fprintf(w, "| %s | %s %s | %s %s | %s | %s |\n", t.Name, num(t.Value), t.Unit, num(t.Limit), t.Unit, met, t.Basis)
	}
}
