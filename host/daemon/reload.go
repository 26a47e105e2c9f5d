package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
)

// entry is one loaded plugin version: a validated file bound to the
// database and registered with the supervisor.
type entry struct {
	file     string
	info     os.FileInfo // the file as it was when loaded
	plugin   *host.Plugin
	runner   *host.Runner
	interval time.Duration
	loadedAt time.Time
	done     <-chan struct{} // set once removed from the supervisor: closed when its loop has exited
}

func (e *entry) name() string { return e.plugin.Desc.Name }

// close closes the entry's runner, then its plugin. The loop must have
// exited (or will never tick again).
func (e *entry) close(ctx context.Context) error {
	err := e.runner.Close(ctx)
	if perr := e.plugin.Close(context.WithoutCancel(ctx)); perr != nil && err == nil {
		err = fmt.Errorf("close plugin %s: %w", e.name(), perr)
	}
	return err
}

// failure is a file version that did not load. It is not tried again until
// the file changes or Rescan is called.
type failure struct {
	file  string
	info  os.FileInfo
	sha   string
	err   error
	at    time.Time
	dupOf string // the plugin name it duplicated, when that was the reason
}

// pendingFile is a new or changed file waiting to settle.
type pendingFile struct {
	info os.FileInfo
	seen time.Time
}

// sameFile reports whether a and b describe the same file contents as far
// as a stat can tell: same inode, size and modification time.
func sameFile(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// scan reconciles the loaded plugins with the plugin directory. force
// forgets past failures first. It returns how long until a file that is
// still settling should be looked at again, or 0 if none is.
func (d *Daemon) scan(ctx context.Context, force bool) (retry time.Duration) {
	d.scanMu.Lock()
	defer d.scanMu.Unlock()
	if p := d.phase.Load(); p == phaseClosing || p == phaseClosed {
		return 0
	}
	// Watch before listing, so a file that arrives meanwhile raises an event.
	werr := d.ensureWatched()
	files, err := host.PluginFiles(d.cfg.PluginDir)
	if err != nil {
		d.dirUnavailable(err)
		return 0
	}
	d.dirAvailable()
	if werr != nil && !d.watchWarned {
		d.watchWarned = true
		d.log.Warn("cannot watch the plugin directory; relying on the periodic rescan",
			"dir", d.cfg.PluginDir, "rescan", d.cfg.RescanInterval, "err", werr)
	}
	if force {
		d.mu.Lock()
		clear(d.failed)
		d.mu.Unlock()
	}
	present := make(map[string]bool, len(files))
	for _, f := range files {
		present[f] = true
	}
	// Removals first, so a plugin moved to another file name frees its
	// name before the new file claims it.
	d.mu.Lock()
	var gone []*entry
	for file, e := range d.entries {
		if !present[file] {
			gone = append(gone, e)
		}
	}
	for file := range d.failed {
		if !present[file] {
			delete(d.failed, file)
		}
	}
	d.mu.Unlock()
	for file := range d.pending {
		if !present[file] {
			delete(d.pending, file)
		}
	}
	for _, e := range gone {
		d.remove(ctx, e)
	}
	now := time.Now()
	for _, f := range files {
		if wait := d.consider(ctx, f, now); wait > 0 && (retry == 0 || wait < retry) {
			retry = wait
		}
	}
	return retry
}

// consider loads file if it is new or changed and has settled. It returns
// how long to wait before looking again if it has not settled.
func (d *Daemon) consider(ctx context.Context, file string, now time.Time) time.Duration {
	fi, err := os.Stat(file)
	if err != nil {
		return 0 // gone since the listing; the next scan handles it
	}
	d.mu.Lock()
	cur, bad := d.entries[file], d.failed[file]
	d.mu.Unlock()
	if cur != nil && sameFile(cur.info, fi) {
		return 0
	}
	if bad != nil && sameFile(bad.info, fi) {
		return 0
	}
	if wait := d.settle(file, fi, now); wait > 0 {
		return wait
	}
	wasm, err := os.ReadFile(file)
	if err != nil {
		d.fail(file, fi, "", fmt.Errorf("read plugin %s: %w", filepath.Base(file), err), cur, "")
		return 0
	}
	if after, err := os.Stat(file); err != nil || !sameFile(fi, after) {
		if err == nil { // written while we read it: settle again
			d.pending[file] = pendingFile{info: after, seen: now}
			return d.cfg.SettleTime
		}
		return 0
	}
	delete(d.pending, file)
	sum := sha256.Sum256(wasm)
	sha := hex.EncodeToString(sum[:])
	if cur != nil && cur.plugin.SHA256 == sha { // touched, or put back: the running bytes
		d.mu.Lock()
		cur.info = fi
		delete(d.failed, file)
		d.mu.Unlock()
		return 0
	}
	if bad != nil && bad.sha == sha {
		d.mu.Lock()
		bad.info = fi
		d.mu.Unlock()
		return 0
	}
	p, err := d.load(ctx, file, wasm)
	if err != nil {
		d.fail(file, fi, sha, err, cur, "")
		return 0
	}
	name := p.Desc.Name
	if other := d.byName(name); other != nil && other.file != file {
		p.Close(ctx)
		err := fmt.Errorf("load plugin %s: duplicate plugin name %q, already loaded from %s", filepath.Base(file), name, filepath.Base(other.file))
		d.fail(file, fi, sha, err, cur, name)
		return 0
	}
	r, err := host.NewRunner(ctx, d.db, p, host.RunnerOptions{Denied: d.denied, LockHeld: d.metrics.lockHeld(name)})
	if err != nil {
		p.Close(ctx)
		d.fail(file, fi, sha, fmt.Errorf("load plugin %s: %w", filepath.Base(file), err), cur, "")
		return 0
	}
	ne := &entry{file: file, info: fi, plugin: p, runner: r, interval: d.cfg.interval(name, p.Desc.DefaultIntervalMS), loadedAt: time.Now()}
	d.mu.Lock()
	delete(d.failed, file)
	d.mu.Unlock()
	if cur == nil {
		d.start(ctx, ne, ReloadLoaded)
	} else {
		d.replace(ctx, cur, ne)
	}
	return 0
}

// settle reports how long file must still wait before it may be read: 0
// once its modification time is SettleTime old, or once it has looked the
// same for SettleTime.
func (d *Daemon) settle(file string, fi os.FileInfo, now time.Time) time.Duration {
	st := d.cfg.SettleTime
	if now.Sub(fi.ModTime()) >= st {
		return 0
	}
	p, ok := d.pending[file]
	if !ok || !sameFile(p.info, fi) {
		d.pending[file] = pendingFile{info: fi, seen: now}
		return st
	}
	if waited := now.Sub(p.seen); waited < st {
		return st - waited
	}
	return 0
}

// load compiles and validates wasm, applying the plugin's limit overrides.
func (d *Daemon) load(ctx context.Context, file string, wasm []byte) (*host.Plugin, error) {
	p, err := d.eng.LoadBytes(ctx, file, wasm, host.Limits{})
	if err != nil {
		return nil, err
	}
	if lim, ok := d.cfg.PluginLimits[p.Desc.Name]; ok && lim != (host.Limits{}) {
		p.Close(ctx)
		return d.eng.LoadBytes(ctx, file, wasm, lim)
	}
	return p, nil
}

func (d *Daemon) byName(name string) *entry {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range d.entries {
		if e.name() == name {
			return e
		}
	}
	return nil
}

// denied is every runner's authorizer hook; the runner has logged the
// denial already.
func (d *Daemon) denied(den host.Denial) { d.metrics.deny(den) }

// fail records a version of file that did not load. cur, if not nil, is the
// version that keeps running.
func (d *Daemon) fail(file string, fi os.FileInfo, sha string, err error, cur *entry, dupOf string) {
	d.metrics.reload(ReloadFailed)
	d.mu.Lock()
	d.failed[file] = &failure{file: file, info: fi, sha: sha, err: err, at: time.Now(), dupOf: dupOf}
	d.mu.Unlock()
	if cur != nil {
		d.log.Error("new plugin version rejected; the previous version keeps running",
			"file", file, "plugin", cur.name(), "running_sha256", short(cur.plugin.SHA256), "err", err)
		return
	}
	d.log.Error("plugin file invalid; skipped", "file", file, "err", err)
}

// start registers ne with the supervisor; its first tick comes one
// interval later.
func (d *Daemon) start(ctx context.Context, ne *entry, result string) {
	job := host.Job{Name: ne.name(), Interval: ne.interval, Tick: d.tickFunc(ne)}
	if err := d.sup.Add(job); err != nil {
		// Only possible while shutting down: the version never runs.
		d.log.Debug("plugin not started", "plugin", ne.name(), "err", err)
		ne.close(ctx)
		return
	}
	d.mu.Lock()
	d.entries[ne.file] = ne
	d.mu.Unlock()
	d.metrics.loaded(ne.plugin)
	d.metrics.reload(result)
	p := ne.plugin
	attrs := []any{"plugin", p.Desc.Name, "file", ne.file, "version", p.Desc.Version, "sha256", short(p.SHA256),
		"abi", p.Desc.ABIVersion, "interval", ne.interval, "load_time", p.LoadTime.Round(time.Millisecond)}
	if ne.interval == 0 {
		attrs = append(attrs, "enabled", false)
	}
	msg := "plugin loaded"
	if result == ReloadReplaced {
		msg = "plugin replaced"
	}
	d.log.Info(msg, attrs...)
}

// tickFunc is the supervisor's tick for ne: one Runner.Tick at the clock's
// now.
func (d *Daemon) tickFunc(ne *entry) func(context.Context, time.Time) (host.Report, error) {
	return func(ctx context.Context, now time.Time) (host.Report, error) {
		if d.tickHook != nil {
			d.tickHook(ctx, ne.name())
		}
		return ne.runner.Tick(ctx, now.UnixMilli())
	}
}

// stopLoop removes e from the supervisor and waits for its loop to finish
// its current tick. It reports false if ctx ended first; e is then left to
// Close.
func (d *Daemon) stopLoop(ctx context.Context, e *entry) bool {
	done, ok := d.sup.Remove(e.name())
	if !ok { // disabled: never spawned
		return true
	}
	select {
	case <-done:
		return true
	case <-ctx.Done():
		e.done = done
		d.mu.Lock()
		d.retiring = append(d.retiring, e)
		delete(d.entries, e.file)
		d.mu.Unlock()
		return false
	}
}

// replace swaps ne in for cur between ticks: cur's loop finishes its
// current tick and exits, cur is closed, ne starts.
func (d *Daemon) replace(ctx context.Context, cur, ne *entry) {
	if !d.stopLoop(ctx, cur) {
		ne.close(ctx)
		return
	}
	d.mu.Lock()
	delete(d.entries, cur.file)
	d.mu.Unlock()
	d.metrics.unloaded(cur.plugin)
	if err := cur.close(ctx); err != nil {
		d.log.Warn("close replaced plugin version", "plugin", cur.name(), "err", err)
	}
	d.log.Info("plugin version swapped between ticks", "plugin", ne.name(), "file", ne.file,
		"old_sha256", short(cur.plugin.SHA256), "new_sha256", short(ne.plugin.SHA256))
	d.start(ctx, ne, ReloadReplaced)
}

// remove stops e's loop after its current tick and closes it.
func (d *Daemon) remove(ctx context.Context, e *entry) {
	if !d.stopLoop(ctx, e) {
		return
	}
	d.mu.Lock()
	delete(d.entries, e.file)
	// A file refused only because it duplicated this name may load now.
	for file, f := range d.failed {
		if f.dupOf == e.name() {
			delete(d.failed, file)
		}
	}
	d.mu.Unlock()
	d.metrics.unloaded(e.plugin)
	if err := e.close(ctx); err != nil {
		d.log.Warn("close removed plugin", "plugin", e.name(), "err", err)
	}
	d.metrics.reload(ReloadRemoved)
	d.log.Info("plugin removed; its loop stopped after its current tick", "plugin", e.name(), "file", e.file)
}

// dirUnavailable records that the plugin directory cannot be read. It is
// logged once per outage; the loaded plugins keep running.
func (d *Daemon) dirUnavailable(err error) {
	d.mu.Lock()
	first := d.dirErr == nil
	d.dirErr = err
	n := len(d.entries)
	d.mu.Unlock()
	if first {
		d.log.Error("plugin directory unreadable; the loaded plugins keep running and it is checked again every rescan",
			"dir", d.cfg.PluginDir, "loaded", n, "rescan", d.cfg.RescanInterval, "err", err)
	}
}

// dirAvailable records that the plugin directory is readable and logs a
// recovery.
func (d *Daemon) dirAvailable() {
	d.mu.Lock()
	was := d.dirErr
	d.dirErr = nil
	d.mu.Unlock()
	if was != nil {
		d.log.Info("plugin directory is back", "dir", d.cfg.PluginDir)
	}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
