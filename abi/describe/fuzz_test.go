package describe_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/describe"
)

// FuzzParseDescriptor: Parse never panics, and a descriptor that
// validates survives json.Marshal and Parse unchanged, when its encoding
// fits MaxSize: json.Marshal escapes <, > and & in migrations' SQL as six
// bytes each, so what fits as written may not fit re-encoded.
func FuzzParseDescriptor(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := describe.Parse(b)
		if err != nil {
			return
		}
		if major, _, err := describe.ParseVersion(d.ABIVersion); err != nil || major != abi.Major {
			t.Fatalf("accepted abi_version %q: major %d, %v", d.ABIVersion, major, err)
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("json.Marshal(%#v): %v", d, err)
		}
		if len(out) > describe.MaxSize && len(d.Migrations) > 0 {
			return
		}
		got, err := describe.Parse(out)
		if err != nil {
			t.Fatalf("valid descriptor %#v marshals to %d bytes that do not parse: %v", d, len(out), err)
		}
		if !reflect.DeepEqual(got, d) {
			t.Fatalf("round trip changed the descriptor:\n%#v\nbecame\n%#v", d, got)
		}
	})
}
