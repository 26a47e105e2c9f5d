package abi_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// mustHex decodes hex that may contain spaces, newlines and "|" separators.
func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	s = strings.NewReplacer(" ", "", "\n", "", "\t", "", "|", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// sameValue compares decoded values exactly: floats by their bits, so NaN
// payloads and the sign of zero count, and blobs by content and nil-ness.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case []byte:
		y, ok := b.([]byte)
		return ok && (x == nil) == (y == nil) && bytes.Equal(x, y)
	}
	return a == b
}

func sameValues(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameValue(a[i], b[i]) {
			return false
		}
	}
	return true
}

// allocBytes returns how many bytes fn allocated on the heap.
func allocBytes(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

var quietNaN = math.Float64frombits(0x7ff8_0000_0000_0001)

func TestValueRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   any
		hex  string // the exact encoding
		want any    // what decoding gives back
	}{
		{"null", nil, "00", nil},
		{"nil blob is null", []byte(nil), "00", nil},
		{"zero", int64(0), "01 0000000000000000", int64(0)},
		{"one", int64(1), "01 0100000000000000", int64(1)},
		{"minus one", int64(-1), "01 ffffffffffffffff", int64(-1)},
		{"min int64", int64(math.MinInt64), "01 0000000000000080", int64(math.MinInt64)},
		{"max int64", int64(math.MaxInt64), "01 ffffffffffffff7f", int64(math.MaxInt64)},
		{"int widened", int(-42), "01 d6ffffffffffffff", int64(-42)},
		{"int32 widened", int32(math.MinInt32), "01 00000080ffffffff", int64(math.MinInt32)},
		{"int16 widened", int16(-2), "01 feffffffffffffff", int64(-2)},
		{"int8 widened", int8(-128), "01 80ffffffffffffff", int64(-128)},
		{"uint8 widened", uint8(255), "01 ff00000000000000", int64(255)},
		{"uint16 widened", uint16(65535), "01 ffff000000000000", int64(65535)},
		{"uint32 widened", uint32(math.MaxUint32), "01 ffffffff00000000", int64(math.MaxUint32)},
		{"uint widened", uint(7), "01 0700000000000000", int64(7)},
		{"uint64 at max int64", uint64(math.MaxInt64), "01 ffffffffffffff7f", int64(math.MaxInt64)},
		{"true", true, "01 0100000000000000", int64(1)},
		{"false", false, "01 0000000000000000", int64(0)},
		{"float", 1.5, "02 000000000000f83f", 1.5},
		{"float zero", 0.0, "02 0000000000000000", 0.0},
		{"float negative zero", math.Copysign(0, -1), "02 0000000000000080", math.Copysign(0, -1)},
		{"float smallest", math.SmallestNonzeroFloat64, "02 0100000000000000", math.SmallestNonzeroFloat64},
		{"float +Inf", math.Inf(1), "02 000000000000f07f", math.Inf(1)},
		{"float -Inf", math.Inf(-1), "02 000000000000f0ff", math.Inf(-1)},
		{"float NaN", math.NaN(), "02 010000000000f87f", math.NaN()},
		{"float NaN payload", quietNaN, "02 010000000000f87f", quietNaN},
		{"float signalling NaN", math.Float64frombits(0xfff0_0000_dead_beef), "02 efbeadde0000f0ff", math.Float64frombits(0xfff0_0000_dead_beef)},
		{"empty text", "", "03 00000000", ""},
		{"text", "héllo", "03 06000000 68c3a96c6c6f", "héllo"},
		{"text not UTF-8", "\x00\xff", "03 02000000 00ff", "\x00\xff"},
		{"empty blob", []byte{}, "04 00000000", []byte{}},
		{"blob", []byte{0, 1, 0xff}, "04 03000000 0001ff", []byte{0, 1, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte{0xaa}
			b, err := abi.AppendValue(prefix, tt.in)
			if err != nil {
				t.Fatalf("AppendValue(%#v): %v", tt.in, err)
			}
			if b[0] != 0xaa {
				t.Fatal("AppendValue overwrote the buffer it appends to")
			}
			b = b[1:]
			if want := mustHex(t, tt.hex); !bytes.Equal(b, want) {
				t.Fatalf("AppendValue(%#v) = % x, want % x", tt.in, b, want)
			}
			d := abi.NewDecoder(b)
			got, err := d.Value()
			if err != nil {
				t.Fatalf("Value(% x): %v", b, err)
			}
			if !sameValue(got, tt.want) {
				t.Errorf("Value(% x) = %#v (%T), want %#v (%T)", b, got, got, tt.want, tt.want)
			}
			if d.Remaining() != 0 {
				t.Errorf("Value left %d bytes", d.Remaining())
			}
		})
	}
}

func TestDecodedBlobOwnsItsBytes(t *testing.T) {
	b, err := abi.AppendValue(nil, []byte("abc"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := abi.NewDecoder(b).Value()
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] = 'X'
	if got := string(v.([]byte)); got != "abc" {
		t.Errorf("decoded blob changed with its input: %q", got)
	}
}

func TestAppendValueErrors(t *testing.T) {
	tests := []struct {
		name string
		in   any
	}{
		{"uint64 over int64", uint64(math.MaxInt64) + 1},
		{"max uint64", uint64(math.MaxUint64)},
		{"float32", float32(1)},
		{"struct", struct{}{}},
		{"pointer", new(int64)},
		{"string slice", []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte{1, 2, 3}
			b, err := abi.AppendValue(in, tt.in)
			if err == nil {
				t.Fatalf("AppendValue(%#v) = % x, want an error", tt.in, b)
			}
			if !bytes.Equal(b, []byte{1, 2, 3}) {
				t.Errorf("AppendValue changed the buffer on error: % x", b)
			}
		})
	}
}

// allTypes is one argument of every kind, edge values included.
var allTypes = []any{
	nil, int64(-1), int64(math.MinInt64), 2.5, math.Inf(-1), quietNaN,
	"", "text", []byte{}, []byte{9, 8, 7},
}

func TestArgsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		args []any
		want []any // nil: same as args
	}{
		{"none", nil, []any{}},
		{"empty", []any{}, nil},
		{"one null", []any{nil}, nil},
		{"nil blob becomes null", []any{[]byte(nil)}, []any{nil}},
		{"every type", allTypes, nil},
		{"widened", []any{true, int(3), uint8(4)}, []any{int64(1), int64(3), int64(4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == nil {
				want = tt.args
			}
			b, err := abi.AppendArgs(nil, tt.args)
			if err != nil {
				t.Fatalf("AppendArgs: %v", err)
			}
			if n := len(tt.args); b[0] != byte(n) || b[1] != 0 || b[2] != 0 || b[3] != 0 {
				t.Fatalf("AppendArgs count = % x, want %d as u32", b[:4], n)
			}
			dst := []any{"kept"}
			got, err := abi.DecodeArgs(b, dst)
			if err != nil {
				t.Fatalf("DecodeArgs(% x): %v", b, err)
			}
			if !sameValue(got[0], "kept") {
				t.Fatalf("DecodeArgs did not append to dst: %#v", got)
			}
			if !sameValues(got[1:], want) {
				t.Errorf("DecodeArgs(% x) = %#v, want %#v", b, got[1:], want)
			}
		})
	}
}

func TestDecodeArgsEmptyBuffer(t *testing.T) {
	for _, b := range [][]byte{nil, {}} {
		got, err := abi.DecodeArgs(b, nil)
		if err != nil || len(got) != 0 {
			t.Errorf("DecodeArgs(%#v) = %#v, %v; want no arguments", b, got, err)
		}
	}
}

func TestAppendArgsError(t *testing.T) {
	_, err := abi.AppendArgs(nil, []any{int64(1), struct{}{}})
	if err == nil || !strings.Contains(err.Error(), "argument 2") {
		t.Errorf("AppendArgs with a bad second argument: err = %v, want it to name argument 2", err)
	}
}

func TestDecodeArgsTruncated(t *testing.T) {
	b, err := abi.AppendArgs(nil, allTypes)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(b); i++ { // 0 bytes is the valid "no arguments"
		got, err := abi.DecodeArgs(b[:i], nil)
		if !errors.Is(err, abi.ErrShort) {
			t.Errorf("DecodeArgs(first %d of %d bytes) = %#v, %v; want ErrShort", i, len(b), got, err)
		}
	}
}

func TestDecodeArgsErrors(t *testing.T) {
	tests := []struct {
		name  string
		hex   string
		short bool   // the error must be ErrShort
		msg   string // the error must contain this
	}{
		{"unknown tag 5", "01000000 05", false, "unknown value tag 5"},
		{"unknown tag 255", "01000000 ff", false, "unknown value tag 255"},
		{"trailing byte", "01000000 00 00", false, "1 trailing bytes"},
		{"trailing after none", "00000000 ff", false, "1 trailing bytes"},
		{"count over bytes", "02000000 00", true, "decode arguments"},
		{"huge count", "ffffffff", true, "decode arguments"},
		{"huge count some bytes", "ffffffff 00000000", true, "decode arguments"},
		{"huge text length", "01000000 03 ffffffff 61", true, "argument 1"},
		{"huge blob length", "01000000 04 feffffff", true, "argument 1"},
		{"short int", "01000000 01 00000000000000", true, "argument 1"},
		{"short float", "01000000 02 00", true, "argument 1"},
		{"short count", "010000", true, "decode arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustHex(t, tt.hex)
			var (
				got []any
				err error
			)
			n := allocBytes(func() { got, err = abi.DecodeArgs(b, nil) })
			if err == nil {
				t.Fatalf("DecodeArgs(% x) = %#v, want an error", b, got)
			}
			if tt.short != errors.Is(err, abi.ErrShort) {
				t.Errorf("DecodeArgs(% x): errors.Is(%v, ErrShort) = %v, want %v", b, err, !tt.short, tt.short)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("DecodeArgs(% x): error %q does not contain %q", b, err, tt.msg)
			}
			if n > 64<<10 {
				t.Errorf("DecodeArgs(% x) allocated %d bytes for a %d-byte input", b, n, len(b))
			}
		})
	}
}

func TestDecoderPrimitives(t *testing.T) {
	d := abi.NewDecoder(mustHex(t, "78563412 0100000000000080 02000000 6869 07"))
	if v, err := d.Uint32(); err != nil || v != 0x12345678 {
		t.Errorf("Uint32 = %#x, %v", v, err)
	}
	if v, err := d.Int64(); err != nil || v != math.MinInt64+1 {
		t.Errorf("Int64 = %d, %v", v, err)
	}
	if v, err := d.Bytes(); err != nil || string(v) != "hi" {
		t.Errorf("Bytes = %q, %v", v, err)
	}
	if d.Remaining() != 1 {
		t.Fatalf("Remaining = %d, want 1", d.Remaining())
	}
	if _, err := d.Uint32(); !errors.Is(err, abi.ErrShort) {
		t.Errorf("Uint32 with 1 byte left: %v, want ErrShort", err)
	}
	if _, err := d.Int64(); !errors.Is(err, abi.ErrShort) {
		t.Errorf("Int64 with 1 byte left: %v, want ErrShort", err)
	}
	if _, err := d.Bytes(); !errors.Is(err, abi.ErrShort) {
		t.Errorf("Bytes with 1 byte left: %v, want ErrShort", err)
	}
	if d.Remaining() != 1 {
		t.Errorf("failed reads consumed input: Remaining = %d, want 1", d.Remaining())
	}
	d.Reset(mustHex(t, "00"))
	if v, err := d.Value(); err != nil || v != nil || d.Remaining() != 0 {
		t.Errorf("after Reset: Value = %#v, %v, Remaining %d", v, err, d.Remaining())
	}
	if _, err := d.Value(); !errors.Is(err, abi.ErrShort) {
		t.Errorf("Value at the end: %v, want ErrShort", err)
	}
}

func TestDecoderCount(t *testing.T) {
	tests := []struct {
		hex  string
		min  int
		want int
		err  bool
	}{
		{"00000000", 1, 0, false},
		{"02000000 0000", 1, 2, false},
		{"03000000 0000", 1, 0, true},
		{"02000000 00000000 00000000", 4, 2, false},
		{"02000000 00000000 000000", 4, 0, true},
		{"ffffffff", 1, 0, true},
		{"ffffffff", 0, math.MaxUint32, false},
		{"000000", 1, 0, true},
	}
	for _, tt := range tests {
		got, err := abi.NewDecoder(mustHex(t, tt.hex)).Count(tt.min)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("Count(%d) of %s = %d, %v; want %d, error %v", tt.min, tt.hex, got, err, tt.want, tt.err)
		}
	}
}

func TestExecResult(t *testing.T) {
	tests := []struct{ rows, id int64 }{
		{0, 0}, {1, 1}, {3, 7}, {-1, -1}, {math.MaxInt64, math.MinInt64},
	}
	for _, tt := range tests {
		b := abi.AppendExecResult([]byte("x"), tt.rows, tt.id)[1:]
		if len(b) != abi.ExecResultSize {
			t.Fatalf("AppendExecResult wrote %d bytes, want %d", len(b), abi.ExecResultSize)
		}
		rows, id, err := abi.DecodeExecResult(b)
		if err != nil || rows != tt.rows || id != tt.id {
			t.Errorf("DecodeExecResult(AppendExecResult(%d, %d)) = %d, %d, %v", tt.rows, tt.id, rows, id, err)
		}
	}
	good := abi.AppendExecResult(nil, 1, 2)
	for _, b := range [][]byte{nil, good[:8], good[:15], append(good, 0)} {
		if _, _, err := abi.DecodeExecResult(b); err == nil {
			t.Errorf("DecodeExecResult of %d bytes: no error", len(b))
		}
	}
}

// queryResult encodes a query result the way the host does.
func queryResult(tb testing.TB, cols []string, rows [][]any) []byte {
	tb.Helper()
	b, at := abi.AppendColumns(nil, cols)
	for _, r := range rows {
		for _, v := range r {
			var err error
			if b, err = abi.AppendValue(b, v); err != nil {
				tb.Fatal(err)
			}
		}
	}
	abi.SetRowCount(b, at, uint32(len(rows)))
	return b
}

// readQuery decodes a whole query result as the guest driver does.
func readQuery(b []byte) (cols []string, rows [][]any, err error) {
	d := abi.NewDecoder(b)
	cols, n, err := abi.QueryHeader(d)
	if err != nil {
		return nil, nil, err
	}
	for range n {
		row := make([]any, len(cols))
		for i := range row {
			if row[i], err = d.Value(); err != nil {
				return cols, rows, err
			}
		}
		rows = append(rows, row)
	}
	if d.Remaining() != 0 {
		return cols, rows, errors.New("trailing bytes")
	}
	return cols, rows, nil
}

func TestQueryResultRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		cols []string
		rows [][]any
	}{
		{"no columns no rows", []string{}, nil},
		{"no rows", []string{"id", "name"}, nil},
		{"empty column name", []string{""}, [][]any{{int64(1)}}},
		{"one row every type", []string{"a", "b", "c", "d", "e"}, [][]any{{nil, int64(-5), math.NaN(), "", []byte{}}}},
		{"many rows", []string{"id", "v"}, [][]any{
			{int64(1), "a"}, {int64(2), nil}, {int64(3), []byte{1}}, {int64(4), math.Inf(1)},
		}},
		{"unicode names", []string{"ключ", "値"}, [][]any{{"x", "y"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := queryResult(t, tt.cols, tt.rows)
			cols, rows, err := readQuery(b)
			if err != nil {
				t.Fatalf("read % x: %v", b, err)
			}
			if strings.Join(cols, "\x00") != strings.Join(tt.cols, "\x00") || len(cols) != len(tt.cols) {
				t.Errorf("columns = %q, want %q", cols, tt.cols)
			}
			if len(rows) != len(tt.rows) {
				t.Fatalf("%d rows, want %d", len(rows), len(tt.rows))
			}
			for i := range rows {
				if !sameValues(rows[i], tt.rows[i]) {
					t.Errorf("row %d = %#v, want %#v", i, rows[i], tt.rows[i])
				}
			}
		})
	}
}

func TestQueryResultTruncated(t *testing.T) {
	b := queryResult(t, []string{"id", "name", "data"}, [][]any{
		{int64(1), "one", []byte{1}},
		{int64(2), nil, 2.5},
	})
	for i := range len(b) {
		if _, _, err := readQuery(b[:i]); !errors.Is(err, abi.ErrShort) {
			t.Errorf("read first %d of %d bytes: %v, want ErrShort", i, len(b), err)
		}
	}
}

func TestQueryHeaderErrors(t *testing.T) {
	tests := []struct {
		name string
		hex  string
	}{
		{"empty", ""},
		{"huge column count", "ffffffff"},
		{"huge column count some bytes", "ffffffff 00000000 00000000"},
		{"column name past the end", "01000000 05000000 6162"},
		{"huge column name", "01000000 ffffffff"},
		{"no row count", "01000000 01000000 61"},
		{"huge row count", "01000000 01000000 61 ffffffff 00"},
		{"rows without columns", "00000000 01000000"},
		{"huge rows without columns", "00000000 ffffffff"},
		{"rows over values", "02000000 01000000 61 01000000 62 02000000 00 00 00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustHex(t, tt.hex)
			var err error
			n := allocBytes(func() { _, _, err = abi.QueryHeader(abi.NewDecoder(b)) })
			if !errors.Is(err, abi.ErrShort) {
				t.Errorf("QueryHeader(% x): %v, want ErrShort", b, err)
			}
			if n > 64<<10 {
				t.Errorf("QueryHeader(% x) allocated %d bytes", b, n)
			}
		})
	}
}

// TestWorkedExample pins the hex examples in ABI.md.
func TestWorkedExample(t *testing.T) {
	args, err := abi.AppendArgs(nil, []any{int64(42), "ab", nil, []byte{0xff}, 1.5})
	if err != nil {
		t.Fatal(err)
	}
	wantArgs := mustHex(t, `05000000
		| 01 2a00000000000000
		| 03 02000000 6162
		| 00
		| 04 01000000 ff
		| 02 000000000000f83f`)
	if !bytes.Equal(args, wantArgs) {
		t.Errorf("args = % x\nwant   % x", args, wantArgs)
	}

	exec := abi.AppendExecResult(nil, 3, 7)
	if want := mustHex(t, "0300000000000000 0700000000000000"); !bytes.Equal(exec, want) {
		t.Errorf("exec result = % x, want % x", exec, want)
	}

	query := queryResult(t, []string{"id", "name"}, [][]any{{int64(1), "a"}, {int64(2), nil}})
	wantQuery := mustHex(t, `02000000
		| 02000000 6964
		| 04000000 6e616d65
		| 02000000
		| 01 0100000000000000 | 03 01000000 61
		| 01 0200000000000000 | 00`)
	if !bytes.Equal(query, wantQuery) {
		t.Errorf("query result = % x\nwant           % x", query, wantQuery)
	}

	if got := abi.Pack(abi.StatusBusy, 5); got != 0x0000_0001_0000_0005 {
		t.Errorf("Pack(busy, 5) = %#016x", got)
	}
	if got := abi.Pack(abi.StatusOK, 70000); got != 0x0000_0000_0001_1170 {
		t.Errorf("Pack(ok, 70000) = %#016x", got)
	}
	if got := abi.PackPtr(0x0001_0000, 120); got != 0x0001_0000_0000_0078 {
		t.Errorf("PackPtr(0x10000, 120) = %#016x", got)
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		s         abi.Status
		name      string
		retryable bool
	}{
		{abi.StatusOK, "ok", false},
		{abi.StatusBusy, "busy", true},
		{abi.StatusConstraint, "constraint", false},
		{abi.StatusNotAuthorized, "not_authorized", false},
		{abi.StatusOther, "other", false},
		{abi.StatusInvalid, "invalid", false},
		{6, "unknown", false},
		{math.MaxUint32, "unknown", false},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.name {
			t.Errorf("Status(%d).String() = %q, want %q", uint32(tt.s), got, tt.name)
		}
		if got := tt.s.Retryable(); got != tt.retryable {
			t.Errorf("Status(%d).Retryable() = %v, want %v", uint32(tt.s), got, tt.retryable)
		}
	}
}

func TestPackUnpack(t *testing.T) {
	tests := []struct {
		s abi.Status
		n uint32
	}{
		{abi.StatusOK, 0}, {abi.StatusOK, 16}, {abi.StatusBusy, 1},
		{abi.StatusInvalid, math.MaxUint32}, {math.MaxUint32, math.MaxUint32}, {math.MaxUint32, 0},
	}
	for _, tt := range tests {
		s, n := abi.Unpack(abi.Pack(tt.s, tt.n))
		if s != tt.s || n != tt.n {
			t.Errorf("Unpack(Pack(%d, %d)) = %d, %d", tt.s, tt.n, s, n)
		}
		p, m := abi.UnpackPtr(abi.PackPtr(uint32(tt.s), tt.n))
		if p != uint32(tt.s) || m != tt.n {
			t.Errorf("UnpackPtr(PackPtr(%d, %d)) = %d, %d", tt.s, tt.n, p, m)
		}
	}
}
