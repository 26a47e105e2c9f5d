package daemon_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/daemon"
)

// A daemon over ./build/plugins that ticks budget_reset every 2 seconds,
// serves the admin endpoints on loopback, and drains on SIGINT or SIGTERM.
func ExampleDaemon_Run() {
	d, err := daemon.New(daemon.Config{
		DBPath:    "ff.db",
		PluginDir: "build/plugins",
		HTTPAddr:  daemon.DefaultHTTPAddr,
		Intervals: map[string]time.Duration{"budget_reset": 2 * time.Second},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := d.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
