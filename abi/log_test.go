package abi_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

func TestLogEncoding(t *testing.T) {
	tests := []struct {
		msg   string
		kv    []string
		attrs [][2]string
	}{
		{"plain", nil, nil},
		{"budget reset failed", []string{"budget_id", "b1", "err", "busy"}, [][2]string{{"budget_id", "b1"}, {"err", "busy"}}},
		{"odd", []string{"lonely"}, [][2]string{{"lonely", ""}}},
		{"fake\x1fsep", []string{"k\x1dx", "v\x1ey"}, [][2]string{{"k x", "v y"}}},
		{"", []string{"", ""}, [][2]string{{"", ""}}},
	}
	for _, tt := range tests {
		b := abi.AppendLog(nil, tt.msg, tt.kv...)
		msg, attrs := abi.ParseLog(string(b))
		wantMsg := tt.msg
		if tt.msg == "fake\x1fsep" {
			wantMsg = "fake sep"
		}
		if msg != wantMsg || !reflect.DeepEqual(attrs, tt.attrs) {
			t.Errorf("ParseLog(AppendLog(%q, %q)) = %q, %q; want %q, %q", tt.msg, tt.kv, msg, attrs, wantMsg, tt.attrs)
		}
	}
	// A message of ABI 1.0 or 1.1 is plain text.
	if msg, attrs := abi.ParseLog("n=1 plain"); msg != "n=1 plain" || attrs != nil {
		t.Errorf("plain message parsed as %q, %q", msg, attrs)
	}
}

// FuzzParseLog: any message parses, and what AppendLog writes parses back
// to its text and pairs, separators replaced.
func FuzzParseLog(f *testing.F) {
	f.Add("msg", "k", "v")
	f.Add("\x1e\x1f\x1d", "\x1d", "")
	f.Fuzz(func(t *testing.T, msg, k, v string) {
		abi.ParseLog(msg)
		got, attrs := abi.ParseLog(string(abi.AppendLog(nil, msg, k, v)))
		clean := func(s string) string { return strings.NewReplacer("\x1e", " ", "\x1f", " ", "\x1d", " ").Replace(s) }
		if got != clean(msg) || len(attrs) != 1 || attrs[0] != [2]string{clean(k), clean(v)} {
			t.Fatalf("ParseLog(AppendLog(%q, %q, %q)) = %q, %q", msg, k, v, got, attrs)
		}
	})
}
