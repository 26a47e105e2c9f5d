package describe_test

import (
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
		many[i] = key("k"+strings.Repeat("x", i), "int", "1")
	}
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
		{"too many", "1.3", many, "65 config keys, limit 64"},
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
