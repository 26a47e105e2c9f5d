package sched_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/sched"
)

// A supervisor runs one loop per job; its first tick comes one interval
// after Start, and a job with interval zero is disabled.
func ExampleSupervisor() {
	s := sched.NewSupervisor(sched.SupervisorConfig{Logger: slog.New(slog.DiscardHandler)})
	ticked := make(chan time.Time, 1)
	s.Add(sched.Job{Name: "sweep", Interval: 20 * time.Millisecond,
		Tick: func(_ context.Context, now time.Time) (sched.Report, error) {
			select {
			case ticked <- now:
			default:
			}
			return sched.Report{Processed: 1}, nil
		}})
	s.Add(sched.Job{Name: "off", Interval: 0, Tick: func(context.Context, time.Time) (sched.Report, error) {
		panic("a disabled job never ticks")
	}})
	s.Start()
	<-ticked
	for _, st := range s.Status() {
		fmt.Println(st.Name, st.Interval)
	}
	fmt.Println("late loops:", s.Shutdown(5*time.Second))
	// Output:
	// sweep 20ms
	// late loops: 0
}
