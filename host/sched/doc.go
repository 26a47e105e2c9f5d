// Package sched runs periodic jobs with the semantics of FlowFabric's
// scanner supervisor: one loop per job, ticks that never overlap, the first
// tick one interval after the loop starts, the next one interval after the
// previous one ends, failures logged and backed off, and a Shutdown that
// waits a grace period and then aborts.
//
// It owns the scheduling and nothing else: a Job's Tick is any function.
// It must not import wazero, SQLite or any other package of the host; the
// daemon adapts the plugin runtime's ticks to Jobs. Its Clock is injected,
// so tests drive time by hand.
package sched
