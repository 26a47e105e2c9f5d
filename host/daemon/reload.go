package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/sched"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// entry is one loaded plugin version: a validated file bound to the
// database, registered with the supervisor once its start has run.
type entry struct {
	file     string
	info     os.FileInfo // the file as it was when loaded
	plugin   *host.Plugin
	runner   *host.Runner
	interval time.Duration
	settings string             // the settings' fingerprint it was loaded with
	config   []host.ConfigEntry // its configuration values
	loadedAt time.Time
	// partitions is how many partitions a tick goes through, 0 to
	// partitions-1: 1 on SQLite and for a plugin not partition-scoped.
	partitions int

	changes []store.TableChanges // what the last tick wrote; set by the runner during the tick
	failing bool                 // the last tick failed; only its loop reads and writes it

	closeOnce sync.Once
	closeErr  error
}

func (e *entry) name() string { return e.plugin.Desc.Name }

// close closes the entry's runner, then its plugin; later calls return the
// first call's result. The loop must have exited (or never tick again):
// Runner.Close waits for a tick still running.
func (e *entry) close(ctx context.Context) error {
	e.closeOnce.Do(func() {
		e.closeErr = e.runner.Close(ctx)
		if perr := e.plugin.Close(context.WithoutCancel(ctx)); perr != nil && e.closeErr == nil {
			e.closeErr = fmt.Errorf("close plugin %s: %w", e.name(), perr)
		}
	})
	return e.closeErr
}

// failure is a file version that did not load. It is not tried again until
// the file changes or Rescan is called.
type failure struct {
	file  string
	info  os.FileInfo
	sha   string
	err   error
	at    time.Time
	dupOf string // the plugin name it claims, when a name conflict was the reason
}

// pendingFile is a new or changed file waiting to settle.
type pendingFile struct {
	info os.FileInfo
	seen time.Time
}

// candidate is a file version that loaded and validated in this scan and
// waits for the scan to decide whether it may run.
type candidate struct {
	file string
	info os.FileInfo
	sha  string
	p    *host.Plugin
	cur  *entry // the version of the same file that runs now, if any

	config   []host.ConfigEntry // its configuration values
	settings string             // the settings' fingerprint they came from
}

// sameFile reports whether a and b describe the same file contents as far
// as a stat can tell: same inode, size and modification time.
func sameFile(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// scan reconciles the loaded plugins with the plugin directory. force
// forgets past failures first. It returns how long until a file that is
// still settling should be looked at again (0 if none is), and a channel
// closed once the loop changes it decided have all been made. It never
// waits for a tick while holding scanMu: a replaced or removed version's
// loop is stopped after its current tick by a change that runs after the
// scan (see chain), so other scans and loads go on meanwhile.
func (d *Daemon) scan(ctx context.Context, force bool) (retry time.Duration, done <-chan struct{}) {
	d.scanMu.Lock()
	defer d.scanMu.Unlock()
	if p := d.phase.Load(); p == phaseClosing || p == phaseClosed {
		return 0, allClosed(nil)
	}
	// Watch before listing, so a file that arrives meanwhile raises an event.
	werr := d.ensureWatched()
	files, err := host.PluginFiles(d.cfg.PluginDir)
	if err != nil {
		d.dirUnavailable(err)
		return 0, allClosed(nil)
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
	var changes []<-chan struct{}
	d.mu.Lock()
	var gone [][2]*entry // the latest version, and the running one
	for file, e := range d.entries {
		if !present[file] {
			gone = append(gone, [2]*entry{d.latest(file), e})
			delete(d.next, file)
			delete(d.entries, file)
		}
	}
	for file := range d.failed {
		if !present[file] {
			delete(d.failed, file)
		}
	}
	// Versions the grants in force no longer cover stop, as removed
	// files do, and are refused until the file or the grant changes.
	live := d.settings()
	var refused []*failure
	var narrowed [][2]*entry // as gone
	for file, e := range d.entries {
		latest := d.latest(file)
		if err := live.checkGrant(latest.plugin); err != nil {
			refused = append(refused, &failure{file: file, info: latest.info, sha: latest.plugin.SHA256, err: err, at: time.Now()})
			narrowed = append(narrowed, [2]*entry{latest, e})
			delete(d.next, file)
			delete(d.entries, file)
			d.failed[file] = refused[len(refused)-1]
		}
	}
	d.mu.Unlock()
	for i, f := range refused {
		d.log.Error("plugin refused: it declares tables beyond its grant", "file", f.file, "err", f.err)
		changes = append(changes, d.retire(narrowed[i][0], narrowed[i][1],
			"plugin refused: its grant no longer covers it; its loop stopped after its current tick", ReloadFailed))
	}
	for file := range d.pending {
		if !present[file] {
			delete(d.pending, file)
		}
	}
	for _, g := range gone {
		changes = append(changes, d.retire(g[0], g[1], "plugin removed; its loop stopped after its current tick", ReloadRemoved))
	}
	now := time.Now()
	var cands []*candidate
	for _, f := range files {
		c, wait := d.consider(ctx, f, now)
		if wait > 0 && (retry == 0 || wait < retry) {
			retry = wait
		}
		if c != nil {
			cands = append(cands, c)
		}
	}
	changes = append(changes, d.admit(ctx, cands)...)
	d.updateConflicts()
	return retry, allClosed(changes)
}

// allClosed returns a channel closed once every channel in chs is.
func allClosed(chs []<-chan struct{}) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		for _, ch := range chs {
			<-ch
		}
		close(out)
	}()
	return out
}

// consider loads file if it is new or changed and has settled, and
// returns it as a candidate. Otherwise it returns how long to wait before
// looking again if the file has not settled.
func (d *Daemon) consider(ctx context.Context, file string, now time.Time) (*candidate, time.Duration) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, 0 // gone since the listing; the next scan handles it
	}
	d.mu.Lock()
	cur, bad := d.latest(file), d.failed[file]
	d.mu.Unlock()
	live := d.settings()
	if cur != nil && sameFile(cur.info, fi) && cur.settings == live.fingerprint(cur.plugin) {
		return nil, 0
	}
	if bad != nil && sameFile(bad.info, fi) {
		return nil, 0
	}
	if wait := d.settle(file, fi, now); wait > 0 {
		return nil, wait
	}
	wasm, err := os.ReadFile(file)
	if err != nil {
		d.fail(file, fi, "", fmt.Errorf("read plugin %s: %w", filepath.Base(file), err), cur, "")
		return nil, 0
	}
	if after, err := os.Stat(file); err != nil || !sameFile(fi, after) {
		if err == nil { // written while we read it: settle again
			d.pending[file] = pendingFile{info: after, seen: now}
			return nil, d.cfg.SettleTime
		}
		return nil, 0
	}
	delete(d.pending, file)
	sum := sha256.Sum256(wasm)
	sha := hex.EncodeToString(sum[:])
	if cur != nil && cur.plugin.SHA256 == sha && cur.settings == live.fingerprint(cur.plugin) { // touched, or put back: the running bytes
		d.mu.Lock()
		cur.info = fi
		delete(d.failed, file)
		d.mu.Unlock()
		return nil, 0
	}
	if bad != nil && bad.sha == sha {
		d.mu.Lock()
		bad.info = fi
		d.mu.Unlock()
		return nil, 0
	}
	p, err := d.eng.LoadBytes(ctx, file, wasm, host.Limits{})
	if err != nil {
		d.fail(file, fi, sha, err, cur, "")
		return nil, 0
	}
	if err := live.checkGrant(p); err != nil {
		p.Close(ctx)
		d.fail(file, fi, sha, err, cur, "")
		return nil, 0
	}
	cfg, err := live.resolveConfig(p)
	if err != nil {
		p.Close(ctx)
		d.fail(file, fi, sha, err, cur, "")
		return nil, 0
	}
	return &candidate{file: file, info: fi, sha: sha, p: p, cur: cur, config: cfg, settings: live.fingerprint(p)}, 0
}

// admit decides which candidates run. A plugin name may run from one file
// only: a candidate whose name another file's running version holds is
// refused, and when no version of a name runs and several files claim it,
// all of them are refused, so that a file that merely sorts first cannot
// take a name. Files refused for a name stay refused until the files
// claiming it change; updateConflicts reports the conflict meanwhile.
func (d *Daemon) admit(ctx context.Context, cands []*candidate) []<-chan struct{} {
	cands = d.tableConflicts(ctx, cands)
	byName := map[string][]*candidate{}
	for _, c := range cands {
		byName[c.p.Desc.Name] = append(byName[c.p.Desc.Name], c)
	}
	var changes []<-chan struct{}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		group := byName[name]
		running := d.byName(name)
		// Files that claimed the name before and were refused for it, and
		// have not changed since, still claim it.
		claimants := d.refusedClaimants(name, group)
		for _, c := range group {
			claimants = append(claimants, c.file)
		}
		if running != nil && !slices.Contains(claimants, running.file) {
			claimants = append(claimants, running.file)
		}
		slices.Sort(claimants)
		for _, c := range group {
			var err *host.NameConflictError
			switch {
			case running != nil && running.file != c.file:
				err = &host.NameConflictError{File: c.file, Name: name, Others: []string{running.file}, Running: true}
			case running == nil && len(claimants) > 1:
				err = &host.NameConflictError{File: c.file, Name: name,
					Others: slices.DeleteFunc(slices.Clone(claimants), func(f string) bool { return f == c.file })}
			}
			if err != nil {
				c.p.Close(ctx)
				d.fail(c.file, c.info, c.sha, err, c.cur, name)
				continue
			}
			if ch := d.accept(ctx, c); ch != nil {
				changes = append(changes, ch)
			}
		}
	}
	return changes
}

// tableConflicts refuses the candidates of different names that claim
// the same owned table while the database records no owner for it, and
// returns the others. A candidate the database records as the owner keeps
// its table; the others then fail on their own when their migrations are
// checked (store.OwnerError).
func (d *Daemon) tableConflicts(ctx context.Context, cands []*candidate) []*candidate {
	claims := map[string][]*candidate{} // lowercased table -> candidates
	for _, c := range cands {
		for _, t := range c.p.Desc.Owns {
			claims[strings.ToLower(t)] = append(claims[strings.ToLower(t)], c)
		}
	}
	refused := map[*candidate]*host.TableConflictError{}
	for _, t := range slices.Sorted(maps.Keys(claims)) {
		group := claims[t]
		names := map[string]bool{}
		for _, c := range group {
			names[c.p.Desc.Name] = true
		}
		if len(names) < 2 {
			continue
		}
		owned := false // the database records an owner of t
		for _, c := range group {
			_, err := host.PendingMigrations(ctx, d.st, c.p.Desc)
			var oe *store.OwnerError
			if errors.As(err, &oe) && strings.EqualFold(oe.Table, t) {
				owned = true
			}
		}
		if owned {
			continue // the recorded owner goes on; the others fail on their own
		}
		for _, c := range group {
			if refused[c] != nil {
				continue
			}
			var others []string
			for _, o := range group {
				if o.p.Desc.Name != c.p.Desc.Name {
					others = append(others, o.file)
				}
			}
			refused[c] = &host.TableConflictError{File: c.file, Table: t, Others: others}
		}
	}
	var out []*candidate
	for _, c := range cands {
		if err := refused[c]; err != nil {
			c.p.Close(ctx)
			d.fail(c.file, c.info, c.sha, err, c.cur, "")
			continue
		}
		out = append(out, c)
	}
	return out
}

// refusedClaimants returns the files, other than the candidates', that
// were refused because they claim name.
func (d *Daemon) refusedClaimants(name string, group []*candidate) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for file, f := range d.failed {
		if f.dupOf == name && !slices.ContainsFunc(group, func(c *candidate) bool { return c.file == file }) {
			out = append(out, file)
		}
	}
	return out
}

// accept binds an admitted candidate to the database and schedules its
// start, or its swap with the version of the same file that runs now.
func (d *Daemon) accept(ctx context.Context, c *candidate) <-chan struct{} {
	name := c.p.Desc.Name
	partitions, err := d.partitionCount(c.p.Desc)
	if err != nil {
		c.p.Close(ctx)
		d.fail(c.file, c.info, c.sha, fmt.Errorf("load plugin %s: %w", filepath.Base(c.file), err), c.cur, "")
		return nil
	}
	// The plugin's migrations, before its runner: a step that fails or
	// changed refuses this version and the running one goes on.
	applied, err := host.ApplyMigrations(ctx, d.st, c.p.Desc)
	if err != nil {
		c.p.Close(ctx)
		d.fail(c.file, c.info, c.sha, fmt.Errorf("load plugin %s: %w", filepath.Base(c.file), err), c.cur, "")
		return nil
	}
	for _, m := range applied {
		d.log.Info("plugin migration applied", "plugin", name, "id", m.ID, "migration", m.Name)
	}
	ne := &entry{file: c.file, info: c.info, plugin: c.p, interval: d.interval(c.p),
		settings: c.settings, config: c.config, loadedAt: d.cfg.Clock.Now(), partitions: partitions}
	r, err := host.NewRunner(ctx, d.st, c.p, host.RunnerOptions{Config: host.ConfigValues(c.config), Denied: d.denied, LockHeld: d.metrics.lockHeld(name),
		LogDropped: d.metrics.logDroppedBy(name), Changed: func(ch store.Changes) { ne.changes = ch.Tables }})
	if err != nil {
		c.p.Close(ctx)
		d.fail(c.file, c.info, c.sha, fmt.Errorf("load plugin %s: %w", filepath.Base(c.file), err), c.cur, "")
		return nil
	}
	ne.runner = r
	d.mu.Lock()
	delete(d.failed, c.file)
	if c.cur == nil {
		d.entries[c.file] = ne
	} else {
		d.next[c.file] = ne // swapped in by the change below
	}
	d.mu.Unlock()
	if c.cur == nil {
		return d.chain(name, func() { d.start(ctx, ne, ReloadLoaded) })
	}
	cur := c.cur
	if cur.name() != name { // the file now holds another plugin: two names change
		stopped := d.chain(cur.name(), func() { d.stopAndClose(ctx, cur, "plugin renamed in its file; old name stopped") })
		return d.chain(name, func() {
			<-stopped
			d.replace(ctx, cur, ne)
		})
	}
	return d.chain(name, func() { d.replace(ctx, cur, ne) })
}

// latest returns the version of file the last scan decided on: the one
// waiting to be swapped in, else the one running. The caller holds d.mu.
func (d *Daemon) latest(file string) *entry {
	if e := d.next[file]; e != nil {
		return e
	}
	return d.entries[file]
}

// chain runs op after every change scheduled earlier for the plugin name
// has finished, on a goroutine of its own, and returns a channel closed
// when op has run. A name's loop changes thus happen one at a time and in
// order, without the scan that decided them waiting.
func (d *Daemon) chain(name string, op func()) <-chan struct{} {
	done := make(chan struct{})
	d.mu.Lock()
	prev := d.changes[name]
	d.changes[name] = done
	d.mu.Unlock()
	go func() {
		defer func() {
			d.mu.Lock()
			if d.changes[name] == done {
				delete(d.changes, name)
			}
			d.mu.Unlock()
			close(done)
		}()
		if prev != nil {
			<-prev
		}
		op()
	}()
	return done
}

// pendingChanges returns a channel closed once every scheduled change has
// run.
func (d *Daemon) pendingChanges() <-chan struct{} {
	d.mu.Lock()
	chs := make([]<-chan struct{}, 0, len(d.changes))
	for _, ch := range d.changes {
		chs = append(chs, ch)
	}
	d.mu.Unlock()
	return allClosed(chs)
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

// byName returns the latest version of the file that holds the plugin
// name, or nil.
func (d *Daemon) byName(name string) *entry {
	d.mu.Lock()
	defer d.mu.Unlock()
	for file := range d.entries {
		if e := d.latest(file); e.name() == name {
			return e
		}
	}
	return nil
}

// denied is every runner's authorizer hook; the runner has logged the
// denial already.
func (d *Daemon) denied(den store.Denial) { d.metrics.deny(den) }

// fail records a version of file that did not load. cur, if not nil, is the
// version that keeps running; dupOf is the plugin name it was refused for.
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

// updateConflicts recomputes which plugin names more than one file claims,
// and lets the files refused for a name that only one file claims now be
// tried again by the next scan.
func (d *Daemon) updateConflicts() {
	d.mu.Lock()
	claims := map[string][]string{}
	for file := range d.entries {
		name := d.latest(file).name()
		claims[name] = append(claims[name], file)
	}
	for file, f := range d.failed {
		if f.dupOf != "" {
			claims[f.dupOf] = append(claims[f.dupOf], file)
		}
	}
	conflicts := map[string][]string{}
	retry := false
	for name, files := range claims {
		if len(files) > 1 {
			slices.Sort(files)
			conflicts[name] = files
			continue
		}
		if f := d.failed[files[0]]; f != nil && f.dupOf != "" {
			delete(d.failed, files[0]) // the conflict is over: try it again
			retry = true
		}
	}
	old := d.conflicts
	d.conflicts = conflicts
	d.mu.Unlock()
	for name := range old {
		if _, ok := conflicts[name]; !ok {
			d.metrics.conflict(name, 0)
			d.log.Info("plugin name conflict resolved", "plugin", name)
		}
	}
	for name, files := range conflicts {
		d.metrics.conflict(name, len(files))
		if !slices.Equal(old[name], files) {
			d.log.Error("plugin name conflict: several files claim one name", "plugin", name, "files", strings.Join(baseNames(files), ", "))
		}
	}
	if retry {
		d.kick()
	}
}

// kick asks the scan loop for a scan soon, without waiting for it.
func (d *Daemon) kick() {
	select {
	case d.kickScan <- struct{}{}:
	default:
	}
}

// start registers ne with the supervisor; its first tick comes one
// interval later.
func (d *Daemon) start(ctx context.Context, ne *entry, result string) {
	job := sched.Job{Name: ne.name(), Interval: ne.interval, Tick: d.tickFunc(ne), CatchUp: d.overdue(ne)}
	if live := d.settings(); live.drain[ne.name()] {
		job.Drain = &sched.Drain{Pause: live.drainPause, MaxTicks: live.drainMax}
	}
	if err := d.sup.Add(job); err != nil {
		// Only possible while shutting down: the version never runs.
		d.log.Debug("plugin not started", "plugin", ne.name(), "err", err)
		d.forget(ne)
		ne.close(ctx)
		return
	}
	d.metrics.loaded(ne.plugin)
	d.metrics.reload(result)
	d.kickCluster()
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

// overdue reports whether ne should catch up: Config.CatchUp is on, the
// daemon is starting, and the ledger's last tick of the plugin started
// more than one interval ago.
func (d *Daemon) overdue(ne *entry) bool {
	if !d.cfg.CatchUp || ne.interval <= 0 || d.phase.Load() != phaseStarting {
		return false
	}
	ledger, err := d.ledger(context.Background())
	if err != nil {
		d.log.Warn("tick ledger unreadable; no catch-up tick", "plugin", ne.name(), "err", err)
		return false
	}
	rec, ok := ledger[ne.name()][0]
	if !ok || d.cfg.Clock.Now().Sub(rec.Start) <= ne.interval {
		return false
	}
	d.log.Info("plugin overdue at start; catching up with one tick now", "plugin", ne.name(),
		"last_tick", rec.Start.UTC().Format(time.RFC3339), "interval", ne.interval)
	return true
}

// forget removes e from the loaded entries, unless a newer version of its
// file took its place.
func (d *Daemon) forget(e *entry) {
	d.mu.Lock()
	if d.entries[e.file] == e {
		delete(d.entries, e.file)
	}
	d.mu.Unlock()
}

// partitionCount is how many partitions each tick of a plugin described
// by desc goes through: its family's count on a partitioned database, 1
// otherwise. A family this daemon has no count for is an error.
func (d *Daemon) partitionCount(desc describe.Descriptor) (int, error) {
	if desc.PartitionFamily == "" || d.st.Dialect() != store.Postgres {
		return 1, nil
	}
	n, ok := d.cfg.Partitions[desc.PartitionFamily]
	if !ok {
		return 0, fmt.Errorf("partition family %q has no partition count here (known: %s; set one with --partitions %s=N)",
			desc.PartitionFamily, strings.Join(slices.Sorted(maps.Keys(d.cfg.Partitions)), ", "), desc.PartitionFamily)
	}
	return n, nil
}

// tickFunc is the supervisor's tick for ne: one Runner.Tick at the clock's
// now, or for a partition-scoped plugin on a partitioned database one per
// partition, in order; a partition that fails is logged with its number
// and the others still tick.
func (d *Daemon) tickFunc(ne *entry) func(context.Context, time.Time) (sched.Report, error) {
	return func(ctx context.Context, now time.Time) (sched.Report, error) {
		if d.tickHook != nil {
			d.tickHook(ctx, ne.name())
		}
		if ne.partitions > 1 || d.member != nil {
			return d.tickPartitions(ctx, ne, now)
		}
		pin := d.pin(ctx, ne)
		rep, err := ne.runner.Tick(ctx, now.UnixMilli())
		d.writeFixture(ctx, ne, pin, now.UnixMilli(), err)
		d.record(ne, now, 0, rep, err)
		return sched.Report(rep), err
	}
}

// tickPartitions ticks ne once for each of its partitions at now, records
// each in the ledger, and sums their reports. In a cluster (PostgreSQL) it
// ticks only the partitions whose lease this daemon holds, each fenced by
// its lease. It fails if any partition failed, naming how many and the
// first.
func (d *Daemon) tickPartitions(ctx context.Context, ne *entry, now time.Time) (sched.Report, error) {
	var (
		sum         sched.Report
		failed, ran int
		first       error
	)
	for p := range ne.partitions {
		if ctx.Err() != nil {
			break // shutting down: the rest waits for the next daemon
		}
		var fence store.Fence
		if d.member != nil {
			lease, ok := d.member.Lease(ne.name(), p)
			if !ok {
				continue // another daemon's, or no one's yet
			}
			fence = d.fence(lease)
			if d.partitionHook != nil {
				d.partitionHook(ctx, ne.name(), p)
			}
		}
		ran++
		start := d.cfg.Clock.Now()
		rep, err := ne.runner.TickPartition(ctx, now.UnixMilli(), p, fence)
		d.record(ne, start, p, rep, err)
		sum.Processed += rep.Processed
		sum.Errors += rep.Errors
		sum.More = sum.More || rep.More
		if err != nil {
			d.log.Warn("partition tick failed", "plugin", ne.name(), "partition", p, "err", err)
			if failed++; first == nil {
				first = fmt.Errorf("partition %d: %w", p, err)
			}
		}
	}
	if failed > 0 {
		return sum, fmt.Errorf("%d of %d partitions failed; first %w", failed, ran, first)
	}
	return sum, ctx.Err()
}

// record queues a finished tick of ne for the tick ledger: the database
// write happens on the ledger's own goroutine, so that a database busy
// with other writers never stretches the plugin's tick.
func (d *Daemon) record(ne *entry, start time.Time, partition int, rep host.Report, tickErr error) {
	d.metrics.rowsChanged(ne.name(), ne.changes)
	t := store.Tick{Plugin: ne.name(), Partition: partition, Start: start, End: d.cfg.Clock.Now(), Processed: rep.Processed, Errors: rep.Errors,
		Version: ne.plugin.Desc.Version, SHA256: ne.plugin.SHA256, Daemon: d.cfg.DaemonID, Interval: ne.interval,
		Changes: ne.changes}
	if tickErr != nil {
		t.Err = tickErr.Error()
	}
	d.ledgerMu.Lock()
	defer d.ledgerMu.Unlock()
	if d.ledgerQ == nil || d.ledgerClosed {
		return // a tick aborted by the shutdown
	}
	select {
	case d.ledgerQ <- t:
	default:
		d.log.Warn("tick ledger queue full; tick not recorded", "plugin", ne.name(), "queued", cap(d.ledgerQ))
	}
}

// closeLedger stops recording ticks and waits, for a while, for the ledger
// writer to write what is queued.
func (d *Daemon) closeLedger() {
	d.ledgerMu.Lock()
	q := d.ledgerQ
	if q != nil && !d.ledgerClosed {
		close(q)
	}
	d.ledgerClosed = true
	d.ledgerMu.Unlock()
	if q == nil {
		return
	}
	select {
	case <-d.ledgerDone:
	case <-time.After(closeTimeout):
		d.log.Warn("tick ledger writes still running at shutdown", "waited", closeTimeout)
	}
}

// writeLedger writes the queued ticks to the tick ledger until the queue
// is closed. A failure to write is logged; it fails no tick.
func (d *Daemon) writeLedger() {
	defer close(d.ledgerDone)
	for t := range d.ledgerQ {
		ctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
		if err := d.st.RecordTick(ctx, t); err != nil {
			d.log.Warn("tick ledger not written", "plugin", t.Plugin, "err", err)
		}
		cancel()
	}
}

// ledgerTimeout bounds one write to the tick ledger, and ledgerQueue is
// how many finished ticks may wait for it.
const (
	ledgerTimeout = 10 * time.Second
	ledgerQueue   = 4096
)

// stopLoop removes e from the supervisor and waits for its loop to finish
// its current tick, or for the daemon to close.
func (d *Daemon) stopLoop(e *entry) {
	done, ok := d.sup.Remove(e.name())
	if !ok { // disabled, or the supervisor has shut down: no loop
		return
	}
	select {
	case <-done:
	case <-d.closing:
		select { // the shutdown ends every loop; give it its time
		case <-done:
		case <-time.After(closeTimeout):
		}
	}
}

// replace swaps ne in for cur between ticks: cur's loop finishes its
// current tick and exits, cur is closed, ne starts. If a later scan has
// meanwhile decided on another version of the file, or the file is gone,
// ne is closed instead.
func (d *Daemon) replace(ctx context.Context, cur, ne *entry) {
	if cur.name() == ne.name() {
		d.stopLoop(cur)
	}
	d.unload(ctx, cur)
	d.mu.Lock()
	current := d.next[ne.file] == ne
	if current {
		delete(d.next, ne.file)
		d.entries[ne.file] = ne
	}
	d.mu.Unlock()
	if !current {
		ne.close(ctx)
		return
	}
	d.log.Info("plugin version swapped between ticks", "plugin", ne.name(), "file", ne.file,
		"old_sha256", short(cur.plugin.SHA256), "new_sha256", short(ne.plugin.SHA256))
	d.start(ctx, ne, ReloadReplaced)
}

// unload forgets the metrics of e, a version whose loop has stopped, and
// closes it.
func (d *Daemon) unload(ctx context.Context, e *entry) {
	d.metrics.unloaded(e.plugin)
	if err := e.close(ctx); err != nil {
		d.log.Warn("close plugin version", "plugin", e.name(), "err", err)
	}
}

// retire schedules the stop of a removed or refused file's versions: the
// latest one the scans decided on, and the running one if that is older (a
// swap scheduled before the removal closes them too). Its loop stops after
// its current tick; then msg is logged and the reload counted as result.
func (d *Daemon) retire(latest, running *entry, msg, result string) <-chan struct{} {
	return d.chain(latest.name(), func() {
		ctx := context.Background()
		d.stopAndClose(ctx, latest, msg)
		if running != latest {
			d.unload(ctx, running)
		}
		d.metrics.reload(result)
	})
}

// stopAndClose stops e's loop after its current tick, closes it and logs
// msg.
func (d *Daemon) stopAndClose(ctx context.Context, e *entry, msg string) {
	d.stopLoop(e)
	d.unload(ctx, e)
	d.kickCluster()
	d.log.Info(msg, "plugin", e.name(), "file", e.file)
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

func baseNames(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = filepath.Base(f)
	}
	return out
}
