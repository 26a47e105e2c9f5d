package testutil

import (
	"context"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/sched"
)

// RunnerJob adapts a plugin runner to a supervisor job: each tick passes
// the clock's now in milliseconds as now_ms.
func RunnerJob(r *host.Runner, interval time.Duration) sched.Job {
	return sched.Job{
		Name:     r.Plugin().Desc.Name,
		Interval: interval,
		Tick: func(ctx context.Context, now time.Time) (sched.Report, error) {
			rep, err := r.Tick(ctx, now.UnixMilli())
			return sched.Report(rep), err
		},
	}
}
