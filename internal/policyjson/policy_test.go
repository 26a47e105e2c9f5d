package policyjson_test

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/internal/policyjson"
)

// TestResetInterval: the policy_json cases docs/reconcilers.md names, and edges.
func TestResetInterval(t *testing.T) {
	tests := []struct {
		policy string
		want   int64
	}{
		{`{"reset_interval_ms":60000}`, 60000},
		{`{"reset_interval_ms":1}`, 1},
		{`{ "limits": {"tokens": 5}, "reset_interval_ms" : 86400000 }`, 86400000},
		{`{"reset_interval_ms":9223372036854775807}`, 9223372036854775807},
		{`{"reset_interval_ms":0}`, 0},
		{`{"reset_interval_ms":-0}`, 0},
		{`{"reset_interval_ms":-5}`, -5}, // negative: the caller treats <= 0 as "never"
		{`{"reset_interval_ms":9223372036854775808}`, 0},
		{`{"reset_interval_ms":1.5}`, 0},
		{`{"reset_interval_ms":1000.0}`, 0},
		{`{"reset_interval_ms":1e3}`, 0},
		{`{"reset_interval_ms":"1000"}`, 0},
		{`{"reset_interval_ms":null}`, 0},
		{`{"reset_interval_ms":true}`, 0},
		{`{"reset_interval_ms":[1000]}`, 0},
		{`{"reset_interval_ms":{"ms":1000}}`, 0},
		{`{"other":1000}`, 0},
		{`{"limits":{"reset_interval_ms":1000}}`, 0}, // only the top level counts
		{`{}`, 0},
		{`null`, 0},
		{`[{"reset_interval_ms":1000}]`, 0},
		{`1000`, 0},
		{`"1000"`, 0},
		{`{"reset_interval_ms":1000`, 0},
		{`{"reset_interval_ms":1000}}`, 0},
		{`{reset_interval_ms:1000}`, 0},
		{``, 0},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			if got := policyjson.ResetInterval(tt.policy); got != tt.want {
				t.Errorf("ResetInterval(%q) = %d, want %d", tt.policy, got, tt.want)
			}
		})
	}
}

// resetIntervalReference is the budget_reset plugin's first resetInterval, with
// encoding/json: the reference FuzzResetInterval holds ResetInterval to.
func resetIntervalReference(in string) int64 {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(in), &fields); err != nil {
		return 0
	}
	v, err := strconv.ParseInt(string(bytes.TrimSpace(fields["reset_interval_ms"])), 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// FuzzResetInterval: ResetInterval and encoding/json agree on every input.
// The seeds run in make test; `go test -fuzz FuzzResetInterval` explores.
func FuzzResetInterval(f *testing.F) {
	for _, s := range []string{
		`{"reset_interval_ms":60000}`, `{"reset_interval_ms":1,"reset_interval_ms":2}`,
		`{"reset\u005finterval_ms":7}`, `{"a":[1,{"b":"\ud83d\ude00"}],"reset_interval_ms":-0}`,
		`{"reset_interval_ms":1e3}`, `{"reset_interval_ms":01}`, `{"reset_interval_ms":1}x`,
		"{\"x\":\"\xff\",\"reset_interval_ms\":5}", `{"x":"\ud800","reset_interval_ms":5}`,
		` {"reset_interval_ms" : 5 } `, `{"reset_interval_ms":5,}`, `[]`, `{"\t":1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if got, want := policyjson.ResetInterval(in), resetIntervalReference(in); got != want {
			t.Fatalf("ResetInterval(%q) = %d, encoding/json says %d", in, got, want)
		}
	})
}
