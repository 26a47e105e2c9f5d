// Package daemon runs the ffwasmhost supervisor over a plugin directory:
// it opens and migrates the database, loads every *.wasm file in the
// directory, runs one tick loop per plugin, reloads plugins as files come,
// change and go, and serves the HTTP admin endpoints and metrics.
//
// The lifecycle follows litestream's Store: New checks a Config and fills
// its defaults, Open starts everything, Close drains and undoes it. Close
// is safe after a failed Open (which has already undone its own work) and
// safe to call twice. Run is Open, wait for the context, Close.
//
// # Hot reload
//
// The daemon watches the plugin directory with fsnotify, rescans it every
// Config.RescanInterval as a fallback, and rescans on demand (Rescan; the
// command wires SIGHUP to it). On each scan:
//
//   - a new file is compiled and validated; if it passes, its loop starts
//     and its first tick comes one interval later;
//   - a changed file (a different sha256) is compiled and validated first;
//     only if it passes is the old version's loop stopped after its current
//     tick, the old version closed and the new one started. A version that
//     fails leaves the old one running; the failure is logged with the file
//     and the reason, counted in ffwasmhost_reloads_total{result="failed"}
//     and not retried until the file changes again (or Rescan is called);
//   - a removed file's loop stops after its current tick;
//   - hidden files (a leading '.') and anything not ending in .wasm are
//     ignored.
//
// # Deploying a plugin safely
//
// Write the new file under a hidden name in the same directory, then rename
// it into place:
//
//	cp budget_reset.wasm /var/lib/ffwasmhost/plugins/.budget_reset.wasm
//	mv /var/lib/ffwasmhost/plugins/.budget_reset.wasm /var/lib/ffwasmhost/plugins/budget_reset.wasm
//
// A rename within one file system is atomic, so the daemon sees either the
// old file or the whole new one. As a guard for writers that do not
// rename, a file is loaded only once it has settled: its modification time
// is at least Config.SettleTime old, or its size and modification time were
// the same in two looks SettleTime apart, and they did not change while it
// was read. A half-written file that slips through anyway fails to compile
// and is treated as a failed version: the old one keeps running.
//
// # Grants and configuration
//
// Config.Grants and Config.PluginConfig are the operator's: a plugin that
// declares a table beyond its grant, or whose configuration values name a
// key it does not declare or have the wrong type, is refused at load, and
// a new version refused so leaves the previous one running. Reconfigure
// puts a new Config in force without a restart: a running plugin whose
// settings changed is loaded again and swapped in between ticks, one its
// new grant no longer covers is stopped, and refused files are tried again.
//
// If the plugin directory itself disappears, the daemon logs it once,
// keeps running every plugin it has loaded, and picks the directory up
// again when it comes back.
//
// # PostgreSQL and partitions
//
// With a postgres:// Config.DBPath the daemon runs on FlowFabric's
// PostgreSQL database, and any number of daemons may run on it. Each joins
// the cluster (host/cluster) and ticks only the (plugin, partition) pairs
// whose lease it holds; every write of such a tick is fenced by the
// lease's epoch, so a daemon that lost its lease (paused, cut off) commits
// nothing. A plugin that declares a partition family (ABI 1.4) ticks once
// per partition of it each interval (Config.Partitions), each partition
// recorded in the tick ledger; on SQLite it ticks partition 0 only, and a
// daemon holds the file's active lock instead.
//
// Staleness (/readyz, ffwasmhost_plugin_stale) is judged per partition on
// PostgreSQL, over the partitions this daemon holds only, each counted
// from when this daemon acquired its lease at the earliest: a daemon
// reports its own work, so a load balancer takes out only the one at
// fault; partitions no daemon holds show in /v1/cluster.
//
// The daemon composes the other packages (the runtime, the scheduler, a
// store, the cluster); none of them may import it.
package daemon
