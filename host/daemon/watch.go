package daemon

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// debounceDelay is how long the scan loop waits after a file event for the
// burst to end before it scans: a copy writes many times, and `rm -rf` of
// the directory removes its files before the directory itself.
const debounceDelay = 100 * time.Millisecond

// startWatcher creates the fsnotify watcher. Without one the periodic
// rescan still finds every change, only later. The directory is added by
// each scan (ensureWatched), so a directory that comes back is watched
// again.
func (d *Daemon) startWatcher() {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		d.log.Warn("file notifications unavailable; relying on the periodic rescan",
			"dir", d.cfg.PluginDir, "rescan", d.cfg.RescanInterval, "err", err)
		return
	}
	d.watcher = w
}

// ensureWatched adds the plugin directory to the watcher unless it is
// watched already. A directory removed and recreated loses its watch;
// fsnotify drops it from WatchList, and the next scan adds it again.
func (d *Daemon) ensureWatched() error {
	if d.watcher == nil {
		return nil
	}
	dir := filepath.Clean(d.cfg.PluginDir)
	if slices.Contains(d.watcher.WatchList(), dir) {
		return nil
	}
	return d.watcher.Add(dir)
}

// relevant reports whether ev may change what the directory holds: a
// visible *.wasm file, or the directory itself.
func (d *Daemon) relevant(ev fsnotify.Event) bool {
	if filepath.Clean(ev.Name) == filepath.Clean(d.cfg.PluginDir) {
		return true
	}
	base := filepath.Base(ev.Name)
	return !strings.HasPrefix(base, ".") && strings.HasSuffix(base, ".wasm")
}

// scanLoop scans the directory after file events (debounced), every
// RescanInterval, and when a settling file is due, until ctx is done.
func (d *Daemon) scanLoop(ctx context.Context) {
	defer close(d.scanDone)
	var (
		events <-chan fsnotify.Event
		errs   <-chan error
	)
	if d.watcher != nil {
		events, errs = d.watcher.Events, d.watcher.Errors
	}
	rescan := time.NewTicker(d.cfg.RescanInterval)
	defer rescan.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	run := func() {
		// The loop changes a scan schedules run on their own; the loop
		// does not wait for them.
		if wait, _ := d.scan(ctx, false); wait > 0 {
			retry.Reset(wait)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if d.relevant(ev) {
				debounce.Reset(debounceDelay)
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// An overflowed event queue: a scan catches up.
			d.log.Warn("watch plugin directory", "dir", d.cfg.PluginDir, "err", err)
			debounce.Reset(debounceDelay)
		case <-debounce.C:
			run()
		case <-d.kickScan:
			run()
		case <-retry.C:
			run()
		case <-rescan.C:
			run()
		}
	}
}
