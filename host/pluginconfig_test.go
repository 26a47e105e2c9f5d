package host_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host"
)

func TestResolveConfig(t *testing.T) {
	d := describe.Descriptor{Name: "p", Config: []describe.ConfigKey{
		{Name: "mode", Type: "string", Default: "strict", Doc: "how"},
		{Name: "batch", Type: "int", Default: "500"},
		{Name: "on", Type: "bool", Default: "true"},
		{Name: "every", Type: "duration", Default: "1m30s"},
	}}
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "token")
	if err := os.WriteFile(secretFile, []byte("s3cr3t-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"TOKEN": "s3cr3t-env", "BATCH": "250", "BAD": "many"}[k]
		return v, ok
	}
	tests := []struct {
		name    string
		vals    map[string]host.ConfigValue
		want    map[string]string // key -> Value|Source|Shown
		wantErr string
	}{
		{"defaults", nil, map[string]string{
			"mode": "strict|default|strict", "batch": "500|default|500", "on": "true|default|true", "every": "90000|default|90000"}, ""},
		{"file values", map[string]host.ConfigValue{"mode": {Literal: "loose"}, "batch": {Literal: int64(7)},
			"on": {Literal: false}, "every": {Literal: "2s"}}, map[string]string{
			"mode": "loose|file|loose", "batch": "7|file|7", "on": "false|file|false", "every": "2000|file|2000"}, ""},
		{"secrets", map[string]host.ConfigValue{"mode": {Env: "TOKEN"}, "batch": {Env: "BATCH"}}, map[string]string{
			"mode": "s3cr3t-env|file|(secret from env TOKEN)", "batch": "250|file|(secret from env BATCH)"}, ""},
		{"secret file", map[string]host.ConfigValue{"mode": {File: secretFile}}, map[string]string{
			"mode": "s3cr3t-file|file|(secret from file " + secretFile + ")"}, ""},
		{"unknown key", map[string]host.ConfigValue{"mdoe": {Literal: "x"}}, nil,
			"config of plugin p: unknown key mdoe (declared: mode, batch, on, every)"},
		{"wrong types", map[string]host.ConfigValue{"batch": {Literal: "500"}, "on": {Literal: int64(1)}, "every": {Literal: "soon"}}, nil,
			`config of plugin p: key batch: want a whole number, not a string; key on: want true or false, not a whole number; key every: "soon" is not a duration`},
		{"missing env", map[string]host.ConfigValue{"mode": {Env: "NOPE"}}, nil,
			"config of plugin p: key mode: environment variable NOPE is not set"},
		{"missing file", map[string]host.ConfigValue{"mode": {File: filepath.Join(dir, "none")}}, nil,
			"config of plugin p: key mode: secret file: open " + filepath.Join(dir, "none")},
		{"bad secret never echoed", map[string]host.ConfigValue{"batch": {Env: "BAD"}}, nil,
			"config of plugin p: key batch: the secret from env BAD is not a valid int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := host.ResolveConfig(d, tt.vals, env)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("ResolveConfig = %v, want an error starting %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "many") || strings.Contains(err.Error(), "s3cr3t") {
					t.Errorf("error reveals a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(d.Config) {
				t.Fatalf("got %d entries, want %d", len(got), len(d.Config))
			}
			for _, e := range got {
				w, ok := tt.want[e.Key]
				if !ok {
					if e.Source != host.SourceDefault {
						t.Errorf("%s: source %s, want default", e.Key, e.Source)
					}
					continue
				}
				if g := e.Value + "|" + e.Source + "|" + e.Shown(); g != w {
					t.Errorf("%s = %q, want %q", e.Key, g, w)
				}
			}
		})
	}
}
