package daemon

import (
	"context"
	"errors"
	"slices"

	"github.com/ffwasmhost/ffwasmhost/host/replay"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// pin, with fixtures on, pins the database before one of ne's ticks, so
// that a failing tick can be written down with the rows it started from.
// It returns nil when fixtures are off, the store cannot pin, or pinning
// failed (logged: the tick runs anyway).
func (d *Daemon) pin(ctx context.Context, ne *entry) store.Snapshot {
	if d.cfg.FixtureDir == "" {
		return nil
	}
	sn, ok := d.st.(store.Snapshotter)
	if !ok {
		return nil
	}
	snap, err := sn.Snapshot(ctx)
	if err != nil {
		d.log.Warn("cannot pin the database for a replay fixture", "plugin", ne.name(), "err", err)
		return nil
	}
	return snap
}

// writeFixture releases pin and, if the tick failed and is the first
// failure of a run of failures, writes the fixture: a plugin failing every
// interval leaves one fixture for the run, not one a tick.
func (d *Daemon) writeFixture(ctx context.Context, ne *entry, pin store.Snapshot, nowMS int64, tickErr error) {
	if pin == nil {
		return
	}
	defer pin.Close()
	first := !ne.failing
	ne.failing = tickErr != nil
	if tickErr == nil || !first {
		return
	}
	f := &replay.Fixture{Plugin: ne.name(), Version: ne.plugin.Desc.Version, SHA256: ne.plugin.SHA256, File: ne.file,
		NowMS: nowMS, Dialect: string(d.st.Dialect()), Error: tickErr.Error(), Daemon: d.cfg.DaemonID, At: d.cfg.Clock.Now().UTC()}
	tables := slices.Concat(ne.plugin.Desc.Reads, ne.plugin.Desc.WriteTables())
	slices.Sort(tables)
	err := f.Capture(context.WithoutCancel(ctx), pin, slices.Compact(tables), d.cfg.FixtureMaxBytes)
	if errors.Is(err, store.ErrTooBig) {
		d.log.Warn("failed tick not written as a fixture: its tables are too big", "plugin", ne.name(),
			"max_bytes", d.cfg.FixtureMaxBytes, "err", err)
		return
	}
	var path string
	if err == nil {
		path, err = replay.Write(d.cfg.FixtureDir, f, d.cfg.FixtureKeep)
	}
	if err != nil {
		d.log.Warn("failed tick not written as a fixture", "plugin", ne.name(), "err", err)
		return
	}
	d.metrics.fixtureWritten(ne.name())
	d.log.Info("failed tick written as a replay fixture", "plugin", ne.name(), "fixture", path)
}
