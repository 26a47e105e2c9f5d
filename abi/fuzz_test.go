package abi_test

import (
	"bytes"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/ and run with plain
// go test. Run a fuzzer with
//
//	go test -run='^$' -fuzz=FuzzDecodeArgs -fuzztime=30s ./abi

// FuzzDecodeArgs: DecodeArgs never panics, and whatever it accepts
// re-encodes to the same bytes (the encoding has one form per value list).
func FuzzDecodeArgs(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, err := abi.DecodeArgs(b, nil)
		if err != nil {
			return
		}
		if len(vals) > len(b) {
			t.Fatalf("%d values from %d bytes", len(vals), len(b))
		}
		if len(b) == 0 { // the empty buffer is the other spelling of no arguments
			if len(vals) != 0 {
				t.Fatalf("empty buffer decoded to %d values", len(vals))
			}
			return
		}
		enc, err := abi.AppendArgs(nil, vals)
		if err != nil {
			t.Fatalf("AppendArgs of decoded %#v: %v", vals, err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs:\n in % x\nout % x", b, enc)
		}
	})
}

// FuzzQueryResult: decoding a query result as the guest driver does never
// panics, never allocates more than a small multiple of the input, and a
// result that decodes whole re-encodes to the same bytes.
func FuzzQueryResult(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var (
			cols []string
			rows int
			err  error
			used int
			enc  []byte
		)
		// Everything decoded is retained (cols, enc) while allocations are
		// counted. 64 bytes per input byte is far above what decoding needs
		// (a string header per 4 bytes, a boxed value per byte); the fixed
		// slack absorbs the runtime's own noise.
		alloc := allocBytes(func() {
			d := abi.NewDecoder(b)
			if cols, rows, err = abi.QueryHeader(d); err != nil {
				return
			}
			if len(cols)*4 > len(b) {
				t.Fatalf("%d columns from %d bytes", len(cols), len(b))
			}
			if rows*max(len(cols), 1) > d.Remaining() {
				t.Fatalf("%d rows of %d columns accepted with %d bytes left", rows, len(cols), d.Remaining())
			}
			var at int
			enc, at = abi.AppendColumns(make([]byte, 0, len(b)), cols)
			for range rows {
				for range cols {
					v, verr := d.Value()
					if verr != nil {
						err = verr
						return
					}
					if enc, verr = abi.AppendValue(enc, v); verr != nil {
						t.Fatalf("AppendValue of decoded %#v: %v", v, verr)
					}
				}
			}
			abi.SetRowCount(enc, at, uint32(rows))
			used = len(b) - d.Remaining()
		})
		if limit := uint64(1<<20 + 64*len(b)); alloc > limit {
			t.Fatalf("decoding %d bytes allocated %d bytes, limit %d", len(b), alloc, limit)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(enc, b[:used]) {
			t.Fatalf("re-encoding differs:\n in % x\nout % x", b[:used], enc)
		}
	})
}
