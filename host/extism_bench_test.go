package host_test

import (
	"context"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// BenchmarkStatement is the cost of one single-row UPDATE through each
// kind of plugin: ticks of 1,000 statements in one transaction
// (testdata/wat/*_bench.wat),
// reported per statement. The Extism guest allocates an arguments block
// and frees it and the result block for every statement, as a PDK does.
//
//	go test ./host/ -run '^$' -bench Statement -benchtime 20x
func BenchmarkStatement(b *testing.B) {
	const perTick = 1000
	for _, tc := range []struct{ kind, file string }{
		{"ffhost", "ffhost_bench.wasm"},
		{"extism", "extism_bench.wasm"},
	} {
		b.Run(tc.kind, func(b *testing.B) {
			s := fxOpen(b, sqlite.Options{}, "CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)",
				"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 1000) INSERT INTO bench_rows SELECT i, 0 FROM c")
			r := fxRunner(b, s.DB, tc.file, host.Limits{}, host.RunnerOptions{})
			ctx := context.Background()
			if _, err := r.Tick(ctx, perTick); err != nil { // warm: instance, statement cache
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				rep, err := r.Tick(ctx, perTick)
				if err != nil || rep.Processed != perTick {
					b.Fatalf("tick: %+v %v", rep, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perTick), "ns/stmt")
		})
	}
}
