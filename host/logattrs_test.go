package host_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// TestStructuredPluginLogs: key/value pairs a Go plugin logs arrive as
// attributes of the host's JSON log record, under "attrs", not folded into
// the message; the plugin cannot pose as the host's own keys.
func TestStructuredPluginLogs(t *testing.T) {
	ctx := context.Background()
	var out testutil.SyncBuffer
	eng, err := host.NewEngine(host.EngineConfig{CacheDir: plugintest.CacheDir(), Logger: slog.New(slog.NewJSONHandler(&out, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	p, err := eng.Load(ctx, fxWasm(t, "log_attrs"), host.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	r, err := host.NewRunner(ctx, fxOpen(t, sqlite.Options{}).DB, p, host.RunnerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	if _, err := r.Tick(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		if rec["source"] != "plugin" {
			continue
		}
		if rec["plugin"] != "log_attrs" {
			t.Errorf("record's plugin is %v, want log_attrs: %s", rec["plugin"], sc.Text())
		}
		attrs, _ := rec["attrs"].(map[string]any)
		got[rec["msg"].(string)] = attrs
	}
	want := map[string]map[string]any{
		"guest logger": {"n": "3", "plugin": "forged", "line": "a b"},
		"slog logger":  {"budget_id": "b1", "ok": "true"},
		"plain":        nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plugin records:\n got %v\nwant %v\nlog:\n%s", got, want, out.String())
	}
}
