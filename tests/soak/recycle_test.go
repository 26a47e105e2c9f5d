package soak

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
)

// rssBytes reads the process's resident set from /proc.
func rssBytes(tb testing.TB) uint64 {
	tb.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skipf("cannot read RSS: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	tb.Skip("no VmRSS in /proc/self/status")
	return 0
}

// TestInstanceRecyclingDoesNotLeak traps on every tick, so every tick
// discards its instance and starts a fresh one: host heap and RSS must stay
// flat once warm.
func TestInstanceRecyclingDoesNotLeak(t *testing.T) {
	n := 600
	if testing.Short() {
		n = 100
	}
	h := plugintest.New(t, plugintest.Build(t, "../../host/testdata/plugins/trap"))
	ctx := context.Background()
	var heapWarm, rssWarm uint64
	for i := 1; i <= n; i++ {
		if _, err := h.Runner.Tick(ctx, int64(i)); !errors.Is(err, host.ErrTrap) {
			t.Fatalf("tick %d = %v, want a trap", i, err)
		}
		if i == n/3 {
			heapWarm, rssWarm = heapAfterGC(), rssBytes(t)
		}
	}
	heapEnd, rssEnd := heapAfterGC(), rssBytes(t)
	t.Logf("%d instances recycled: heap %d → %d KiB, RSS %d → %d MiB after warm-up",
		n, heapWarm>>10, heapEnd>>10, rssWarm>>20, rssEnd>>20)
	// Not timing bounds: a leaked 64 MiB memory, or even a leaked 1 MiB
	// per instance, would blow far past these.
	if heapEnd > heapWarm+8<<20 {
		t.Errorf("heap grew from %d to %d bytes while recycling instances", heapWarm, heapEnd)
	}
	if rssEnd > rssWarm+64<<20 {
		t.Errorf("RSS grew from %d to %d MiB while recycling instances", rssWarm>>20, rssEnd>>20)
	}
	// The runner still works after all that.
	if rep, err := h.Runner.Tick(ctx, 0); err != nil || rep.Processed != 1 {
		t.Errorf("tick at 0 = %+v, %v; want a fresh instance's first call", rep, err)
	}
}
