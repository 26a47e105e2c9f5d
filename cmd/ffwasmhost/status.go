package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/daemon"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

type statusOpts struct {
	pg         *pgFlags
	db         *string
	staleAfter *int
	json       *bool
}

func (a *app) statusFlags() (*flag.FlagSet, *statusOpts) {
	fs := newFlagSet("status")
	o := &statusOpts{}
	o.db = fs.String("db", a.envOr(envDB, "./"+daemon.DefaultDBPath), "SQLite database file, or a postgres:// URL; must exist (env "+envDB+")")
	o.pg = addPGFlags(a, fs)
	o.staleAfter = fs.Int("stale-after", daemon.DefaultStaleAfter, "a plugin is stale after this many of its intervals without a successful tick")
	o.json = fs.Bool("json", false, "print the ledger as JSON, one object per plugin and partition")
	return fs, o
}

// statusLine is one ledger row as `status --json` prints it.
type statusLine struct {
	Plugin              string     `json:"plugin"`
	Partition           int        `json:"partition"`
	LastStart           time.Time  `json:"last_start"`
	LastEnd             time.Time  `json:"last_end"`
	Outcome             string     `json:"outcome"` // ok or error
	Error               string     `json:"error,omitempty"`
	Processed           int64      `json:"processed"`
	Errors              int64      `json:"errors"`
	Version             string     `json:"version"`
	SHA256              string     `json:"sha256"`
	Daemon              string     `json:"daemon"`
	IntervalMS          int64      `json:"interval_ms"`
	LastSuccess         *time.Time `json:"last_success"`
	ConsecutiveFailures int64      `json:"consecutive_failures"`
	Ticks               int64      `json:"ticks"`
	Failures            int64      `json:"failures"`
	Stale               bool       `json:"stale"`
}

// cmdStatus prints the tick ledger: each plugin's last tick, as the daemon
// recorded it in the database, whether a daemon runs or not. It exits 1
// when a plugin is stale, so it can serve as a cron or Kubernetes probe.
func (a *app) cmdStatus(args []string) int {
	fs, o := a.statusFlags()
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		a.failf("status: unexpected argument %q (see 'ffwasmhost help status')", pos[0])
		return exitUsage
	}
	if *o.staleAfter <= 0 {
		a.failf("status: --stale-after %d: want a positive number of intervals", *o.staleAfter)
		return exitUsage
	}
	ctx := context.Background()
	db, err := openExisting(ctx, *o.db, sqlite.Options{}, o.pg.options())
	if err != nil {
		a.failf("status: %v", err)
		return exitFail
	}
	defer db.Close()
	recs, err := db.Ticks(ctx)
	if err != nil {
		a.failf("status: %v", err)
		return exitFail
	}
	now := time.Now()
	lines := make([]statusLine, len(recs))
	stale := 0
	for i, r := range recs {
		lines[i] = ledgerLine(r, now, *o.staleAfter)
		if lines[i].Stale {
			stale++
		}
	}
	if *o.json {
		enc := json.NewEncoder(a.stdout)
		for _, l := range lines {
			enc.Encode(l)
		}
	} else {
		printLedger(a, lines, now)
	}
	if stale > 0 {
		a.failf("status: %d of %d plugins stale (no success for %d intervals)", stale, len(lines), *o.staleAfter)
		return exitFail
	}
	return exitOK
}

func ledgerLine(r store.TickRecord, now time.Time, staleAfter int) statusLine {
	l := statusLine{Plugin: r.Plugin, Partition: r.Partition, LastStart: r.Start.UTC(), LastEnd: r.End.UTC(),
		Outcome: "ok", Error: r.Err, Processed: r.Processed, Errors: r.Errors, Version: r.Version, SHA256: r.SHA256,
		Daemon: r.Daemon, IntervalMS: r.Interval.Milliseconds(), ConsecutiveFailures: r.ConsecutiveFailures,
		Ticks: r.Ticks, Failures: r.Failures, Stale: r.Stale(now, r.Interval, staleAfter)}
	if r.Err != "" {
		l.Outcome = "error"
	}
	if !r.LastSuccess.IsZero() {
		t := r.LastSuccess.UTC()
		l.LastSuccess = &t
	}
	return l
}

func printLedger(a *app, lines []statusLine, now time.Time) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLUGIN\tPARTITION\tLAST TICK\tOUTCOME\tPROCESSED\tERRORS\tLAST SUCCESS\tFAILING FOR\tINTERVAL\tSTALE")
	ago := func(t time.Time) string { return now.Sub(t).Round(time.Second).String() + " ago" }
	for _, l := range lines {
		success := "never"
		if l.LastSuccess != nil {
			success = ago(*l.LastSuccess)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t%s\t%d ticks\t%s\t%v\n", l.Plugin, l.Partition, ago(l.LastStart), l.Outcome,
			l.Processed, l.Errors, success, l.ConsecutiveFailures, time.Duration(l.IntervalMS)*time.Millisecond, l.Stale)
	}
	tw.Flush()
}
