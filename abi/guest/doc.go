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
// Tick receives an ordinary *sql.DB whose driver sends every statement to the
// host in one host call (see ../ABI.md). Transactions are BEGIN IMMEDIATE.
// The guest holds one connection: close a *sql.Rows before beginning a
// transaction or running another statement.
//
// Outside wasm the package compiles, so plugin packages vet and test on the
// host, but every database call fails with ErrNotInHost.
package guest
