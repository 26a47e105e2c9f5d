package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/internal/wasmenc"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// TestLoadErrors checks that each way a plugin file can be wrong is refused
// with an error that names the file and says what is wrong.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		file func(t *testing.T, dir string) string // returns the file to load
		want []string                              // substrings of the error; the file's base name is always checked
		is   error                                 // if set, the error must wrap it
	}{
		{
			name: "garbage bytes",
			file: func(t *testing.T, dir string) string {
				return fxWrite(t, dir, "garbage.wasm", []byte("#!/bin/sh\necho not wasm\n"))
			},
			want: []string{"not a WebAssembly module"},
		},
		{
			name: "empty file",
			file: func(t *testing.T, dir string) string { return fxWrite(t, dir, "empty.wasm", nil) },
			want: []string{"not a WebAssembly module"},
		},
		{
			name: "wasm magic then garbage",
			file: func(t *testing.T, dir string) string {
				return fxWrite(t, dir, "truncated.wasm", []byte("\x00asm\x01\x00\x00\x00\x01\xff\xff"))
			},
			want: []string{"read module: section 1 at offset 8: unexpected end of data"},
		},
		{
			// Four billion i32 locals in 5 bytes: wazero would allocate them all
			// and the host would die out of memory.
			name: "locals bomb",
			file: func(t *testing.T, dir string) string {
				return fxWrite(t, dir, "locals.wasm", []byte("\x00asm\x01\x00\x00\x00"+
					"\x01\x04\x01\x60\x00\x00"+"\x03\x02\x01\x00"+"\x05\x03\x01\x00\x01"+
					"\x0a\x0a\x01\x08\x01\xd8\xd8\xd8\xd8\x0f\x7f\x0b"))
			},
			want: []string{"read module: code section: function body 0: locals 4212534360 exceeds the max-locals bound 50000"},
		},
		{
			name: "missing export",
			file: func(t *testing.T, _ string) string { return fxWasm(t, "missing_scan_tick") },
			want: []string{`missing export "scan_tick"`},
		},
		{
			name: "missing export, hand-assembled",
			file: func(t *testing.T, dir string) string {
				return fxWrite(t, dir, "no_tick.wasm", wasmenc.Plugin{Desc: fxTinyDesc("no_tick"), NoTick: true}.Encode())
			},
			want: []string{`missing export "scan_tick"`},
		},
		{
			name: "export with the wrong signature",
			file: func(t *testing.T, dir string) string {
				return fxWrite(t, dir, "bad_sig.wasm", wasmenc.Plugin{Desc: fxTinyDesc("bad_sig"), TickParam: 0x7f}.Encode())
			},
			want: []string{`export "scan_tick" has signature (i32) -> (i32)`, "want (i64) -> (i32)"},
		},
		{
			name: "ABI 2 against host ABI 1",
			file: func(t *testing.T, _ string) string { return fxWasm(t, "abi_v2") },
			want: []string{"ABI 2.0", "ABI " + abi.Version},
			is:   describe.ErrABIMismatch,
		},
		{
			name: "bad describe JSON",
			file: func(t *testing.T, _ string) string { return fxWasm(t, "bad_describe_json") },
			want: []string{"describe: bad JSON"},
		},
		{
			name: "describe points outside memory",
			file: func(t *testing.T, dir string) string {
				return fxWrite(t, dir, "wild_describe.wasm", wasmenc.Plugin{Desc: fxTinyDesc("wild"), DescPtr: 0xFFFF0000}.Encode())
			},
			want: []string{"outside guest memory"},
		},
		{
			name: "unknown import module",
			file: func(t *testing.T, dir string) string {
				return fxWrite(t, dir, "env_import.wasm", wasmenc.Plugin{Desc: fxTinyDesc("env_import"), Imports: [][2]string{{"env", "foo"}}}.Encode())
			},
			want: []string{"env.foo", `module "env"`},
		},
		{
			name: "unknown host function",
			file: func(t *testing.T, dir string) string {
				return fxWrite(t, dir, "ffhost_import.wasm", wasmenc.Plugin{Desc: fxTinyDesc("ffhost_import"), Imports: [][2]string{{abi.HostModule, "spawn_shell"}}}.Encode())
			},
			want: []string{"ffhost.spawn_shell", "does not provide"},
		},
		{
			name: "host function imported with the wrong signature",
			file: func(t *testing.T, dir string) string {
				return fxWrite(t, dir, "log_sig.wasm", wasmenc.Plugin{Desc: fxTinyDesc("log_sig"), Imports: [][2]string{{abi.HostModule, abi.FnLog}}}.Encode())
			},
			want: []string{"ffhost.log as () -> ()", "host provides (i32, i32, i32) -> ()"},
		},
		{
			name: "_initialize traps",
			file: func(t *testing.T, dir string) string {
				return fxWrite(t, dir, "init_trap.wasm", wasmenc.Plugin{Desc: fxTinyDesc("init_trap"), InitTrap: true}.Encode())
			},
			want: []string{"start instance", "plugin trapped", "unreachable"},
			is:   host.ErrTrap,
		},
		{
			// What a Go plugin that never calls guest.Register returns.
			name: "describe returns nothing",
			file: func(t *testing.T, dir string) string {
				return fxWrite(t, dir, "no_register.wasm", wasmenc.Plugin{}.Encode())
			},
			want: []string{"describe returned nothing: does the plugin call guest.Register in an init function?"},
			is:   host.ErrNoDescriptor,
		},
		{
			name: "invalid descriptor name",
			file: func(t *testing.T, dir string) string {
				return fxWrite(t, dir, "bad_name.wasm", wasmenc.Plugin{Desc: fxTinyDesc("Bad Name")}.Encode())
			},
			want: []string{`name "Bad Name"`},
		},
	}
	ctx := context.Background()
	eng := fxEngine(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file(t, t.TempDir())
			p, err := eng.Load(ctx, file, host.Limits{})
			if err == nil {
				p.Close(ctx)
				t.Fatalf("Load(%s) succeeded, want an error", filepath.Base(file))
			}
			var targets []error
			if tc.is != nil {
				targets = append(targets, tc.is)
			}
			fxWantErr(t, err, targets, append([]string{filepath.Base(file)}, tc.want...)...)
		})
	}
}

// TestLoadHandAssembledPlugin shows the ABI needs no Go: a module of a few
// hundred bytes with memory, describe and scan_tick loads and ticks.
func TestLoadHandAssembledPlugin(t *testing.T) {
	ctx := context.Background()
	file := fxWrite(t, t.TempDir(), "tiny.wasm", wasmenc.Plugin{Desc: fxTinyDesc("tiny")}.Encode())
	p, err := fxEngine(t).Load(ctx, file, host.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if p.Name() != "tiny" || p.Desc.ABIVersion != "1.0" || p.Desc.DefaultIntervalMS != 1000 {
		t.Fatalf("descriptor = %+v", p.Desc)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ff.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := host.NewRunner(ctx, db, p, host.RunnerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	for range 2 {
		if rep, err := r.Tick(ctx, 1); err != nil || rep != (host.Report{}) {
			t.Fatalf("Tick = %+v, %v; want an empty report", rep, err)
		}
	}
}

func TestLoadDirDuplicateName(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fxCopy(t, fxWasm(t, "good"), dir, "a_good.wasm")
	fxCopy(t, fxWasm(t, "dup_name"), dir, "b_dup.wasm")
	fxCopy(t, fxWasm(t, "good"), dir, "c_good.wasm")
	fxCopy(t, fxWasm(t, "panic"), dir, "d_panic.wasm")
	plugins, errs, err := fxEngine(t).LoadDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plugins {
		defer p.Close(ctx)
	}
	// No file takes a name by sorting first: every claimant is refused.
	if got := fxPluginNames(plugins); len(got) != 1 || filepath.Base(plugins[0].File) != "d_panic.wasm" {
		t.Fatalf("loaded %v, want only d_panic.wasm's plugin", got)
	}
	if len(errs) != 3 {
		t.Fatalf("errors = %v, want one per claimant of \"good\"", errs)
	}
	want := map[string][]string{
		"a_good.wasm": {"b_dup.wasm", "c_good.wasm"},
		"b_dup.wasm":  {"a_good.wasm", "c_good.wasm"},
		"c_good.wasm": {"a_good.wasm", "b_dup.wasm"},
	}
	for _, err := range errs {
		var nc *host.NameConflictError
		if !errors.As(err, &nc) || !errors.Is(err, host.ErrNameConflict) || nc.Name != "good" || nc.Running {
			t.Fatalf("error %v is not a name conflict over \"good\"", err)
		}
		others, ok := want[filepath.Base(nc.File)]
		if !ok {
			t.Fatalf("conflict for unexpected file %s", nc.File)
		}
		delete(want, filepath.Base(nc.File))
		fxWantErr(t, err, nil, "duplicate plugin name", `"good"`, filepath.Base(nc.File), "also claimed by "+strings.Join(others, ", "), "none of them runs")
	}
}

func TestLoadDirSkipsHiddenAndOtherFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fxCopy(t, fxWasm(t, "good"), dir, "good.wasm")
	junk := []byte("not wasm at all")
	for _, name := range []string{".hidden.wasm", ".good.wasm.tmp", "README.txt", "good.wasm.bak", "wasm"} {
		fxWrite(t, dir, name, junk)
	}
	if err := os.Mkdir(filepath.Join(dir, "subdir.wasm"), 0o755); err != nil {
		t.Fatal(err)
	}
	fxWrite(t, filepath.Join(dir, "subdir.wasm"), "nested.wasm", junk)

	files, err := host.PluginFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || filepath.Base(files[0]) != "good.wasm" {
		t.Fatalf("PluginFiles = %v, want only good.wasm", files)
	}
	plugins, errs, err := fxEngine(t).LoadDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plugins {
		defer p.Close(ctx)
	}
	if len(errs) != 0 {
		t.Errorf("errors = %v, want none", errs)
	}
	if len(plugins) != 1 || plugins[0].Name() != "good" {
		t.Fatalf("loaded %v, want only good", fxPluginNames(plugins))
	}
}

func TestLoadDirUnreadable(t *testing.T) {
	_, _, err := fxEngine(t).LoadDir(context.Background(), filepath.Join(t.TempDir(), "missing"))
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("LoadDir of a missing directory: %v, want an error naming it", err)
	}
}

func fxPluginNames(ps []*host.Plugin) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name()+"@"+filepath.Base(p.File))
	}
	return out
}

func TestPluginLimitsApplyByName(t *testing.T) {
	ctx := context.Background()
	eng, err := host.NewEngine(host.EngineConfig{
		CacheDir: plugintest.CacheDir(),
		Limits:   host.Limits{TickTimeout: 3 * time.Second},
		PluginLimits: func(name string) host.Limits {
			if name == "good" {
				return host.Limits{TickTimeout: 7 * time.Second, MaxLogLines: 9}
			}
			return host.Limits{}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	for _, tc := range []struct {
		plugin string
		call   host.Limits // passed to Load: wins over the plugin's own
		want   host.Limits // the fields checked
	}{
		{"good", host.Limits{}, host.Limits{TickTimeout: 7 * time.Second, MaxLogLines: 9}},
		{"good", host.Limits{MaxLogLines: 5}, host.Limits{TickTimeout: 7 * time.Second, MaxLogLines: 5}},
		{"panic", host.Limits{}, host.Limits{TickTimeout: 3 * time.Second, MaxLogLines: host.DefaultLimits.MaxLogLines}},
	} {
		p, err := eng.Load(ctx, fxWasm(t, tc.plugin), tc.call)
		if err != nil {
			t.Fatal(err)
		}
		got := host.Limits{TickTimeout: p.Limits.TickTimeout, MaxLogLines: p.Limits.MaxLogLines}
		if got != tc.want {
			t.Errorf("%s with %+v: limits %+v, want %+v", tc.plugin, tc.call, got, tc.want)
		}
		p.Close(ctx)
	}
}
