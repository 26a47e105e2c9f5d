// Command abicompare measures what one SQL statement costs through each
// candidate plugin ABI: 10,000 single-row UPDATEs in one
// transaction,
//
//	(a) natively, database/sql + modernc.org/sqlite (statement text per
//	    call, and prepared once);
//	(b) through ffwasmhost's own host module "ffhost" (the ABI directly,
//	    through the guest SDK's guest.Conn, and through database/sql in the
//	    guest via abi/guest/stdlib);
//	(c) through an Extism host function, the guest using go-pdk the
//	    idiomatic way (a memory block per argument and per result), without
//	    and with a manifest timeout;
//	(d) through an Extism host function with one reused memory block and a
//	    compact binary encoding, without and with a timeout.
//
// It is its own Go module (go.mod here), so the main module never depends
// on Extism. Run it with `make abicompare`, or `go run .` in this directory.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	extism "github.com/extism/go-sdk"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

const (
	stmt       = "UPDATE bench_rows SET v = v + 1 WHERE id = ?"
	rows       = 1000
	rawBase    = 1_000_000_000
	stdSQLBase = 2_000_000_000
	timeout    = 30_000 // ms: the manifest timeout of the "timeout" variants, as the host's tick timeout
)

var (
	flagN    = flag.Int("n", 10_000, "UPDATEs per run")
	flagRuns = flag.Int("runs", 5, "interleaved runs per variant")
	flagOut  = flag.String("out", "../../build/abicompare", "directory for results.json")
)

// variant is one way to run n UPDATEs; it returns the time they took.
type variant struct {
	name, desc string
	setup      func(ctx context.Context, path string) (run func(n int) (time.Duration, error), close func(), err error)
}

type result struct {
	Name       string    `json:"name"`
	Desc       string    `json:"description"`
	Runs       []float64 `json:"runs_us_per_update"`
	Median     float64   `json:"median_us_per_update"`
	Ratio      float64   `json:"ratio_vs_native"`
	RatioPrep  float64   `json:"ratio_vs_native_prepared"`
	AddedNanos float64   `json:"added_ns_per_update_vs_native_prepared"`
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	if err := run(); err != nil {
		log.Fatalf("abicompare: %v", err)
	}
}

func run() error {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "abicompare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	fmt.Fprintln(os.Stderr, "abicompare: building guests")
	wasm := map[string][]byte{}
	for _, g := range []string{"ffhost", "pdk", "buf"} {
		p, err := plugintest.BuildWasm("./guests/" + g)
		if err != nil {
			return err
		}
		if wasm[g], err = os.ReadFile(p); err != nil {
			return err
		}
	}
	base := filepath.Join(work, "base.db")
	if err := makeDB(ctx, base); err != nil {
		return err
	}

	variants := []variant{
		{"a native", "database/sql, tx.ExecContext with the SQL text (modernc prepares it each call)", nativeVariant(false)},
		{"a native prepared", "database/sql, statement prepared once on the connection", nativeVariant(true)},
		{"b ffhost ABI", "ffwasmhost host module, sql_exec import called directly (abi.AppendArgs encoding)", ffhostVariant(wasm["ffhost"], rawBase)},
		{"b ffhost SDK", "ffwasmhost host module through the guest SDK's guest.Conn (what the plugins use)", ffhostVariant(wasm["ffhost"], 0)},
		{"b ffhost database/sql", "ffwasmhost host module through database/sql in the guest (abi/guest/stdlib)", ffhostVariant(wasm["ffhost"], stdSQLBase)},
		{"c extism pdk", "Extism host function, go-pdk idiomatic: a memory block per argument and per result, no timeout", extismVariant(wasm["pdk"], "exec", 0)},
		{"c extism pdk + timeout", "same, with a manifest timeout (WithCloseOnContextDone)", extismVariant(wasm["pdk"], "exec", timeout)},
		{"d extism buffer", "Extism host function, one reused memory block, compact binary encoding, no timeout", extismVariant(wasm["buf"], "exec_buf", 0)},
		{"d extism buffer + timeout", "same, with a manifest timeout", extismVariant(wasm["buf"], "exec_buf", timeout)},
	}
	runs := make([][]float64, len(variants))
	type opened struct {
		run   func(int) (time.Duration, error)
		close func()
	}
	n := *flagN
	for r := 0; r < *flagRuns; r++ {
		for k := range variants {
			i := (k + r) % len(variants) // rotate the order every run
			v := variants[i]
			path := filepath.Join(work, "run.db")
			if err := copyFile(base, path); err != nil {
				return err
			}
			runFn, closeFn, err := v.setup(ctx, path)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			if _, err := runFn(100); err != nil { // warm-up: instance, statements
				closeFn()
				return fmt.Errorf("%s warm-up: %w", v.name, err)
			}
			runtime.GC()
			d, err := runFn(n)
			closeFn()
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			if got, err := sumV(ctx, path); err != nil || got != int64(n+100) {
				return fmt.Errorf("%s: sum(v) = %d, want %d (%v)", v.name, got, n+100, err)
			}
			for _, s := range []string{"", "-wal", "-shm"} {
				os.Remove(path + s)
			}
			runs[i] = append(runs[i], float64(d.Nanoseconds())/float64(n)/1000)
			fmt.Fprintf(os.Stderr, "abicompare: run %d %-26s %8.2f µs/update\n", r+1, v.name, runs[i][len(runs[i])-1])
		}
	}

	var res []result
	for i, v := range variants {
		res = append(res, result{Name: v.name, Desc: v.desc, Runs: runs[i], Median: median(runs[i])})
	}
	for i := range res {
		res[i].Ratio = res[i].Median / res[0].Median
		res[i].RatioPrep = res[i].Median / res[1].Median
		res[i].AddedNanos = (res[i].Median - res[1].Median) * 1000
	}
	printTable(os.Stdout, res, n)
	if err := os.MkdirAll(*flagOut, 0o755); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(map[string]any{
		"machine":    machine(),
		"updates":    n,
		"runs":       *flagRuns,
		"durability": "journal_mode=WAL, synchronous=NORMAL, one transaction around the updates",
		"results":    res,
	}, "", "  ")
	out := filepath.Join(*flagOut, "results.json")
	fmt.Fprintf(os.Stderr, "abicompare: wrote %s\n", out)
	return os.WriteFile(out, append(js, '\n'), 0o644)
}

func printTable(w io.Writer, res []result, n int) {
	m := machine()
	fmt.Fprintf(w, "\n%d single-row UPDATEs in one transaction; %s, %v CPU, %s; medians of %d runs\n\n",
		n, m["cpu"], m["num_cpu"], m["go"], *flagRuns)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "variant\tµs/update\tvs native\tvs native prepared\tadded ns/update\t")
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2fx\t%.2fx\t%.0f\t\n", r.Name, r.Median, r.Ratio, r.RatioPrep, r.AddedNanos)
	}
	tw.Flush()
}

// dsn is a plugin connection's DSN in host/db.go at the daemon's defaults.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_txlock", "immediate")
	return path + "?" + q.Encode()
}

func makeDB(ctx context.Context, path string) error {
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.SQL.ExecContext(ctx, `CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		return err
	}
	if _, err := db.SQL.ExecContext(ctx, `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < ?)
INSERT INTO bench_rows SELECT i, 0 FROM c`, rows); err != nil {
		return err
	}
	_, err = db.SQL.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

func sumV(ctx context.Context, path string) (int64, error) {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var s int64
	err = db.QueryRowContext(ctx, "SELECT sum(v) FROM bench_rows").Scan(&s)
	return s, err
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// --- (a) native ---

func nativeVariant(prepared bool) func(context.Context, string) (func(int) (time.Duration, error), func(), error) {
	return func(ctx context.Context, path string) (func(int) (time.Duration, error), func(), error) {
		db, err := sql.Open("sqlite", dsn(path))
		if err != nil {
			return nil, nil, err
		}
		db.SetMaxOpenConns(1)
		var ps *sql.Stmt
		if prepared {
			if ps, err = db.PrepareContext(ctx, stmt); err != nil {
				db.Close()
				return nil, nil, err
			}
		}
		run := func(n int) (time.Duration, error) {
			t0 := time.Now()
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return 0, err
			}
			defer tx.Rollback()
			for i := 0; i < n; i++ {
				var res sql.Result
				if prepared {
					res, err = tx.StmtContext(ctx, ps).ExecContext(ctx, i%rows+1)
				} else {
					res, err = tx.ExecContext(ctx, stmt, i%rows+1)
				}
				if err != nil {
					return 0, err
				}
				if ra, _ := res.RowsAffected(); ra != 1 {
					return 0, fmt.Errorf("update %d: %d rows", i, ra)
				}
			}
			err = tx.Commit()
			return time.Since(t0), err
		}
		return run, func() { db.Close() }, nil
	}
}

// --- (b) ffhost ---

func ffhostVariant(wasm []byte, base int64) func(context.Context, string) (func(int) (time.Duration, error), func(), error) {
	return func(ctx context.Context, path string) (func(int) (time.Duration, error), func(), error) {
		eng, err := host.NewEngine(host.EngineConfig{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, nil, err
		}
		p, err := eng.LoadBytes(ctx, "ffhost.wasm", wasm, host.Limits{})
		if err != nil {
			eng.Close(ctx)
			return nil, nil, err
		}
		db, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			p.Close(ctx)
			eng.Close(ctx)
			return nil, nil, err
		}
		r, err := host.NewRunner(ctx, db, p, host.RunnerOptions{})
		if err != nil {
			db.Close()
			p.Close(ctx)
			eng.Close(ctx)
			return nil, nil, err
		}
		run := func(n int) (time.Duration, error) {
			arg := base + int64(n)
			t0 := time.Now()
			rep, err := r.Tick(ctx, arg)
			d := time.Since(t0)
			if err == nil && rep.Processed != int64(n) {
				err = fmt.Errorf("processed %d, want %d", rep.Processed, n)
			}
			return d, err
		}
		return run, func() { r.Close(ctx); db.Close(); p.Close(ctx); eng.Close(ctx) }, nil
	}
}

// --- (c), (d) Extism ---

// extismHost is the host side of an Extism variant: a connection with a
// prepared statement cache, as ffhost's session has, and a transaction the
// host holds around each Call.
type extismHost struct {
	conn  *sql.Conn
	db    *sql.DB
	stmts map[string]*sql.Stmt
}

func (h *extismHost) exec(ctx context.Context, q string, args ...any) (int64, error) {
	s, ok := h.stmts[q]
	if !ok {
		var err error
		if s, err = h.conn.PrepareContext(ctx, q); err != nil {
			return 0, err
		}
		h.stmts[q] = s
	}
	res, err := s.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func extismVariant(wasm []byte, fn string, timeoutMS uint64) func(context.Context, string) (func(int) (time.Duration, error), func(), error) {
	return func(ctx context.Context, path string) (func(int) (time.Duration, error), func(), error) {
		db, err := sql.Open("sqlite", dsn(path))
		if err != nil {
			return nil, nil, err
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		h := &extismHost{conn: conn, db: db, stmts: map[string]*sql.Stmt{}}
		var hf extism.HostFunction
		switch fn {
		case "exec": // (c): exec(sql_block, id_block) -> result_block
			hf = extism.NewHostFunctionWithStack("exec", func(ctx context.Context, p *extism.CurrentPlugin, stack []uint64) {
				q, err := p.ReadString(stack[0])
				if err != nil {
					panic(err)
				}
				idText, err := p.ReadString(stack[1])
				if err != nil {
					panic(err)
				}
				id, _ := strconv.ParseInt(idText, 10, 64)
				out := ""
				if ra, err := h.exec(ctx, q, id); err != nil {
					out = err.Error()
				} else {
					out = strconv.FormatInt(ra, 10)
				}
				if stack[0], err = p.WriteString(out); err != nil {
					panic(err)
				}
			}, []extism.ValueType{extism.ValueTypePTR, extism.ValueTypePTR}, []extism.ValueType{extism.ValueTypePTR})
		case "exec_buf": // (d): exec_buf(block, sql_len, args_len) -> status<<32 | result_len
			var vals []any
			var buf []byte
			hf = extism.NewHostFunctionWithStack("exec_buf", func(ctx context.Context, p *extism.CurrentPlugin, stack []uint64) {
				mem := p.Memory()
				off, sqlLen, argsLen := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
				q, ok1 := mem.Read(off, sqlLen)
				a, ok2 := mem.Read(off+64, argsLen)
				if !ok1 || !ok2 {
					panic("exec_buf: outside memory")
				}
				var err error
				if vals, err = abi.DecodeArgs(a, vals[:0]); err != nil {
					panic(err)
				}
				st, payload := abi.StatusOK, []byte(nil)
				if ra, err := h.exec(ctx, string(q), vals...); err != nil {
					st, payload = abi.StatusOther, []byte(err.Error())
				} else {
					buf = abi.AppendExecResult(buf[:0], ra, 0)
					payload = buf
				}
				mem.Write(off+1024, payload)
				stack[0] = abi.Pack(st, uint32(len(payload)))
			}, []extism.ValueType{extism.ValueTypePTR, extism.ValueTypeI32, extism.ValueTypeI32}, []extism.ValueType{extism.ValueTypeI64})
		}
		manifest := extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: wasm}}, Timeout: timeoutMS}
		cp, err := extism.NewCompiledPlugin(ctx, manifest, extism.PluginConfig{EnableWasi: true}, []extism.HostFunction{hf})
		if err != nil {
			conn.Close()
			db.Close()
			return nil, nil, err
		}
		pl, err := cp.Instance(ctx, extism.PluginInstanceConfig{})
		if err != nil {
			cp.Close(ctx)
			conn.Close()
			db.Close()
			return nil, nil, err
		}
		run := func(n int) (time.Duration, error) {
			t0 := time.Now()
			if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
				return 0, err
			}
			rc, out, err := pl.Call("run", []byte(strconv.Itoa(n)))
			if err == nil && rc != 0 {
				err = fmt.Errorf("run returned %d", rc)
			}
			if err != nil {
				conn.ExecContext(ctx, "ROLLBACK")
				return 0, err
			}
			if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
				return 0, err
			}
			d := time.Since(t0)
			if string(out) != strconv.Itoa(n) {
				return d, fmt.Errorf("output %q", out)
			}
			return d, nil
		}
		closeFn := func() {
			pl.Close(ctx)
			cp.Close(ctx)
			for _, s := range h.stmts {
				s.Close()
			}
			conn.Close()
			db.Close()
		}
		return run, closeFn, nil
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func machine() map[string]any {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return map[string]any{"cpu": cpu, "num_cpu": runtime.NumCPU(), "go": runtime.Version(), "loadavg": load}
}
