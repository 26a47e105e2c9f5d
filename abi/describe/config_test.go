package describe_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
)

func TestConfigKeysValidate(t *testing.T) {
	key := func(name, typ, def string) describe.ConfigKey {
		return describe.ConfigKey{Name: name, Type: typ, Default: def, Doc: "one line"}
	}
	many := make([]describe.ConfigKey, describe.MaxConfigKeys+1)
	for i := range many {
		many[i] = key(fmt.Sprintf("k%d", i), "int", "1")
	}
	long := make([]describe.ConfigKey, 16) // 16 * (2 + 248 + 6) = 4096 bytes, then 8 more
	for i := range long {
		long[i] = key(fmt.Sprintf("k%c", 'a'+i), "string", strings.Repeat("x", 248))
		long[i].Doc = "a line"
	}
	long[15].Default += strings.Repeat("y", 8)
	tests := []struct {
		name    string
		abi     string
		keys    []describe.ConfigKey
		wantErr string
	}{
		{"each type", "1.3", []describe.ConfigKey{key("a", "string", ""), key("b", "int", "-5"), key("c", "bool", "false"),
			key("d", "duration", "1m30s")}, ""},
		{"later minor", "1.9", []describe.ConfigKey{key("a", "string", "x")}, ""},
		{"no keys on 1.0", "1.0", nil, ""},
		{"keys on 1.1", "1.1", []describe.ConfigKey{key("a", "string", "x")}, "config keys need abi_version 1.3 or later, not 1.1"},
		{"bad name", "1.3", []describe.ConfigKey{key("Mode", "string", "")}, `config key "Mode" must match`},
		{"twice", "1.3", []describe.ConfigKey{key("a", "int", "1"), key("a", "int", "2")}, "config key a declared twice"},
		{"bad type", "1.3", []describe.ConfigKey{key("a", "float", "1.5")}, `config key a: default: unknown type "float"`},
		{"bad int default", "1.3", []describe.ConfigKey{key("a", "int", "")}, `config key a: default: "" is not a whole number`},
		{"bad bool default", "1.3", []describe.ConfigKey{key("a", "bool", "yes")}, `"yes" is not true or false`},
		{"negative duration", "1.3", []describe.ConfigKey{key("a", "duration", "-1s")}, `"-1s" is not a duration`},
		{"multi-line doc", "1.3", []describe.ConfigKey{{Name: "a", Type: "string", Doc: "one\ntwo"}}, "config key a doc must be one line"},
		{"too many", "1.3", many, fmt.Sprintf("%d config keys, limit %d", describe.MaxConfigKeys+1, describe.MaxConfigKeys)},
		{"too much text", "1.3", long, "config keys' names, defaults and docs are 4104 bytes together, limit 4096"},
		{"long default", "1.3", []describe.ConfigKey{key("a", "string", strings.Repeat("x", 257))}, "default is 257 bytes, limit 256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := describe.Descriptor{Name: "p", ABIVersion: tt.abi, Config: tt.keys}
			err := d.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestCanonicalConfigValue(t *testing.T) {
	for _, tt := range []struct{ typ, in, want string }{
		{"string", " as is ", " as is "}, {"int", "007", "7"}, {"int", "-9223372036854775808", "-9223372036854775808"},
		{"bool", "true", "true"}, {"duration", "1h", "3600000"}, {"duration", "1500us", "1"},
	} {
		got, err := describe.CanonicalConfigValue(tt.typ, tt.in)
		if err != nil || got != tt.want {
			t.Errorf("CanonicalConfigValue(%s, %q) = %q, %v; want %q", tt.typ, tt.in, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ typ, in string }{
		{"int", "9223372036854775808"}, {"int", "1e3"}, {"bool", "1"}, {"string", "\xff"},
		{"string", strings.Repeat("x", describe.MaxConfigValueBytes+1)},
	} {
		if _, err := describe.CanonicalConfigValue(tt.typ, tt.in); err == nil {
			t.Errorf("CanonicalConfigValue(%s, %.20q) succeeded", tt.typ, tt.in)
		}
	}
}

// TestDescriptorWithConfigFitsTheLimit: the largest descriptor Validate
// accepts, config keys included, made of characters json.Marshal escapes,
// stays under MaxSize.
func TestDescriptorWithConfigFitsTheLimit(t *testing.T) {
	tables := make([]string, 128)
	for i := range tables {
		tables[i] = fmt.Sprintf("t%03d", i) + strings.Repeat("_", 124)
	}
	keys := make([]describe.ConfigKey, describe.MaxConfigKeys)
	for i := range keys { // 32 * (3 + 125 + 0) = 4096 bytes of text
		keys[i] = describe.ConfigKey{Name: fmt.Sprintf("k%02d", i), Type: "string", Default: strings.Repeat("<", 125)}
	}
	d := describe.Descriptor{
		Name: strings.Repeat("z", 64), ABIVersion: "1.999999999", Version: strings.Repeat("<", 128),
		DefaultIntervalMS: describe.MaxIntervalMS, Reads: tables[:64], Writes: tables[64:],
		Description: strings.Repeat("&", 1024), Config: keys,
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > describe.MaxSize {
		t.Errorf("largest valid descriptor with config keys marshals to %d bytes, over %d", len(b), describe.MaxSize)
	}
	if _, err := describe.Parse(b); err != nil {
		t.Errorf("it does not parse back: %v", err)
	}
}
