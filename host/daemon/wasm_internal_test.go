package daemon

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/internal/wasmenc"
)

// tinySpec describes a minimal plugin module assembled by tinyWasm: it
// declares a descriptor and, on every tick, reports Processed items and
// returns Status. Different Versions give different bytes (and sha256).
type tinySpec struct {
	Name       string
	Version    string
	IntervalMS int64
	Processed  int64
	Status     int32 // scan_tick's result: 0 ok, else the tick fails
	More       bool  // scan_tick calls tick_more (ABI 1.1)
	Reads      []string
	// Owns and Migrations (ABI 1.2): sqlite migrations, one SQL text each,
	// numbered from 1.
	Owns       []string
	Migrations []string
	Writes     []string
}

// tinyWasm builds spec's module (wasmenc.Plugin), so the daemon's tests
// need neither the Go wasm toolchain nor the seconds (tens under -race) a
// standard-Go plugin takes to compile.
func tinyWasm(tb testing.TB, spec tinySpec) []byte {
	tb.Helper()
	abiVersion := "1.0"
	if spec.More {
		abiVersion = "1.1"
	}
	fields := map[string]any{
		"name": spec.Name, "abi_version": abiVersion, "version": spec.Version,
		"default_interval_ms": spec.IntervalMS, "reads": append([]string{}, spec.Reads...), "writes": append([]string{}, spec.Writes...),
		"description": "tiny test plugin " + spec.Name,
	}
	if len(spec.Owns) > 0 {
		fields["abi_version"], fields["owns"] = "1.2", spec.Owns
		var steps []map[string]any
		for i, sql := range spec.Migrations {
			steps = append(steps, map[string]any{"id": i + 1, "name": fmt.Sprintf("step %d", i+1), "sql": sql})
		}
		if steps != nil {
			fields["migrations"] = map[string]any{"sqlite": steps}
		}
	}
	desc, err := json.Marshal(fields)
	if err != nil {
		tb.Fatal(err)
	}
	return wasmenc.Plugin{Desc: string(desc), Processed: spec.Processed, Status: spec.Status, More: spec.More}.Encode()
}

// withCustomSection returns wasm with a custom section appended: a
// different file (and sha256) that loads exactly like the original.
func withCustomSection(wasm []byte, label string) []byte {
	return wasmenc.AppendSection(wasm, wasmenc.SecCustom, append(wasmenc.AppendName(nil, label), 'x'))
}
