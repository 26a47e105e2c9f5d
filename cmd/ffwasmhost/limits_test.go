package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
)

func TestLimitFlag(t *testing.T) {
	var f limitFlag
	for _, s := range []string{"memory=128MiB", "tick-timeout=5s", "budget_reset.max-result-bytes=2MiB",
		"budget_reset.memory=32MiB", "worker_ttl.max-log-lines=10", "max-call-bytes=4096",
		"worker_ttl.log-lines-per-second=5", "worker_ttl.log-bytes-per-second=8KiB"} {
		if err := f.Set(s); err != nil {
			t.Fatalf("Set(%q): %v", s, err)
		}
	}
	if want := (host.Limits{MemoryBytes: 128 << 20, TickTimeout: 5 * time.Second, MaxCallBytes: 4096}); f.all != want {
		t.Errorf("all = %+v, want %+v", f.all, want)
	}
	if want := (host.Limits{MemoryBytes: 32 << 20, MaxResultBytes: 2 << 20}); f.plugin["budget_reset"] != want {
		t.Errorf("budget_reset = %+v, want %+v", f.plugin["budget_reset"], want)
	}
	if w := f.plugin["worker_ttl"]; w.MaxLogLines != 10 || w.LogLinesPerSecond != 5 || w.LogBytesPerSecond != 8<<10 {
		t.Errorf("worker_ttl = %+v", f.plugin["worker_ttl"])
	}
}

func TestLimitFlagLoadBounds(t *testing.T) {
	var f limitFlag
	for _, s := range []string{"max-functions=30000", "max-function-bytes=64KiB", "max-locals=100",
		"max-total-locals=1000", "max-nesting=500", "max-code-bytes=4MiB", "big.max-block-work=200000000"} {
		if err := f.Set(s); err != nil {
			t.Fatalf("Set(%q): %v", s, err)
		}
	}
	want := host.Limits{MaxFunctions: 30000, MaxFunctionBytes: 64 << 10, MaxLocals: 100, MaxTotalLocals: 1000,
		MaxNesting: 500, MaxCodeBytes: 4 << 20}
	if f.all != want {
		t.Errorf("all = %+v, want %+v", f.all, want)
	}
	if f.plugin["big"].MaxBlockWork != 200_000_000 {
		t.Errorf("big = %+v", f.plugin["big"])
	}
	if err := f.all.Merge(host.DefaultLimits).Validate(); err != nil {
		t.Errorf("the merged limits do not validate: %v", err)
	}
}

func TestLimitFlagRejects(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"memory", "want [PLUGIN.]FIELD=VALUE"},
		{"memory=", "want [PLUGIN.]FIELD=VALUE"},
		{"speed=9", `unknown limit "speed"`},
		{"Bad-Name.memory=1MiB", "is not a plugin name"},
		{"memory=lots", "size \"lots\""},
		{"memory=0", "want a positive number"},
		{"memory=5TiB", "size \"5TiB\""},
		{"tick-timeout=-1s", "duration \"-1s\""},
		{"max-result-bytes=8GiB", "over 4 GiB"},
		{"max-log-lines=x", "positive whole number"},
		{"log-lines-per-second=0", "positive whole number"},
		{"log-bytes-per-second=2048GiB", "want 1 B to 1 TiB"},
		{"max-functions=0", "positive whole number"},
		{"max-nesting=-3", "positive whole number"},
		{"max-function-bytes=2GiB", "over 1 GiB"},
		{"max-code-bytes=many", "size \"many\""},
		{"max-block-work=1e9", "positive whole number"},
	} {
		var f limitFlag
		err := f.Set(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Set(%q) = %v, want error containing %q", tt.in, err, tt.want)
		}
	}
}
