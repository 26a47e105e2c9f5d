// Package guest is the Go SDK for writing ffwasmhost plugins.
//
// A plugin is a main package built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o NAME.wasm .
//
// that registers itself in an init function:
//
//	func init() {
//		guest.Register(guest.Plugin{
//			Name:            "my_reconciler",
//			Version:         "1.0.0",
//			DefaultInterval: 30 * time.Second,
//			Writes:          []string{"my_table"},
//			Tick:            tick,
//		})
//	}
//
//	func main() {}
//
// Tick receives a *Conn: Exec, Query and QueryRow send each statement to
// the host in one host call (see ../ABI.md), WithTx runs a BEGIN IMMEDIATE
// transaction with FlowFabric's busy retry, and Log writes to the host's
// log. A tick looks like ordinary Go database code:
//
//	func tick(ctx context.Context, db *guest.Conn, now int64) (guest.Report, error) {
//		var rep guest.Report
//		err := guest.WithTx(ctx, db, func() error {
//			res, err := db.Exec(`DELETE FROM my_table WHERE expires_at_ms < ?`, now)
//			rep.Processed = res.RowsAffected
//			return err
//		})
//		return rep, err
//	}
//
// A plugin that the operator configures declares its keys in
// Plugin.Config (ABI 1.3) and reads them during a tick with Conn.Config,
// ConfigInt, ConfigBool or ConfigDuration; values come from the daemon's
// configuration file, else the key's default.
//
// A plugin that also runs on FlowFabric's PostgreSQL database (ABI 1.4)
// lists both dialects and, if it walks partitions, its partition family;
// its tick asks which it has:
//
//	guest.Plugin{..., Dialects: []string{"sqlite", "postgres"}, PartitionFamily: "worker_registry"}
//
//	if guest.Dialect() == abi.DialectPostgres {
//		// $1 parameters; this tick is for partition guest.Partition() only
//	}
//
// On PostgreSQL WithTx's transaction is SERIALIZABLE (busy on a
// serialization failure, and retried), and the host fences its commit.
//
// The package links no fmt, reflect, encoding/json or database/sql: each
// would add to every plugin's size, and so to its load time, its memory in
// the host and its instance start. A plugin that wants database/sql or
// log/slog imports abi/guest/stdlib, which adapts this package to them.
//
// Built with the tag ffextism, the package speaks the Extism profile of the
// ABI (ABI.md section 13) instead: an Extism PDK supplies its host calls
// (SetTransport) and exports describe and scan_tick (Describe, ScanTick);
// plugins/extism/pdkhost does so on go-pdk. A plugin's code is the same
// for both.
//
// Outside wasm the package compiles, so plugin packages vet and test on the
// host, but every database call fails with ErrNotInHost.
package guest
