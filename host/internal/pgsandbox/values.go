package pgsandbox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// Type OIDs the session encodes or decodes itself (pg_type.dat).
const (
	oidBool       = 16
	oidBytea      = 17
	oidChar       = 18
	oidName       = 19
	oidInt8       = 20
	oidInt2       = 21
	oidInt4       = 23
	oidText       = 25
	oidOID        = 26
	oidFloat4     = 700
	oidFloat8     = 701
	oidNameArray  = 1003
	oidBPCharArr  = 1014
	oidTextArray  = 1009
	oidVarcharArr = 1015
	oidNumeric    = 1700
)

// Wire protocol format codes.
const (
	textFormat   int16 = 0
	binaryFormat int16 = 1
)

// column is how one result column is read and turned into a wire value.
type column struct {
	name   string
	oid    uint32
	format int16
}

// resultFormat is the format the session asks the server for a column of
// type oid in: binary where it decodes the type itself, text otherwise.
func resultFormat(oid uint32) int16 {
	switch oid {
	case oidBool, oidInt2, oidInt4, oidInt8, oidOID, oidFloat4, oidFloat8, oidBytea,
		oidTextArray, oidVarcharArr, oidBPCharArr, oidNameArray:
		return binaryFormat
	}
	return textFormat
}

// appendResult appends the wire value of one result value: raw is the
// value as the server sent it (nil for NULL) in the column's format.
//
// The mapping (docs/postgres.md):
//   - NULL → null
//   - smallint, integer, bigint, oid → int
//   - boolean → int 1 or 0
//   - real, double precision → float
//   - numeric → int if integral and within int64, else float if finite in
//     float64 (NaN and ±Infinity too), else its exact decimal text
//   - bytea → blob (an empty bytea stays an empty blob)
//   - text[], varchar[], char(n)[], name[] → text, the elements joined by
//     commas (FlowFabric's lanes CSV form); an array with a NULL, empty or
//     comma-holding element, or of more than one dimension, fails (other)
//     rather than be read back as something else
//   - anything else (text, varchar, char(n), name, json, jsonb, uuid, dates,
//     intervals, other arrays, ...) → text in PostgreSQL's text output
func appendResult(buf []byte, col column, raw []byte) ([]byte, error) {
	if raw == nil {
		return append(buf, abi.TagNull), nil
	}
	if col.format == textFormat {
		if col.oid == oidNumeric {
			return appendNumeric(buf, string(raw))
		}
		return appendBytes(buf, abi.TagText, raw), nil
	}
	switch col.oid {
	case oidBool:
		if len(raw) != 1 {
			return buf, badLength(col, raw)
		}
		return appendInt(buf, int64(raw[0])), nil
	case oidInt2:
		if len(raw) != 2 {
			return buf, badLength(col, raw)
		}
		return appendInt(buf, int64(int16(binary.BigEndian.Uint16(raw)))), nil
	case oidInt4:
		if len(raw) != 4 {
			return buf, badLength(col, raw)
		}
		return appendInt(buf, int64(int32(binary.BigEndian.Uint32(raw)))), nil
	case oidOID:
		if len(raw) != 4 {
			return buf, badLength(col, raw)
		}
		return appendInt(buf, int64(binary.BigEndian.Uint32(raw))), nil
	case oidInt8:
		if len(raw) != 8 {
			return buf, badLength(col, raw)
		}
		return appendInt(buf, int64(binary.BigEndian.Uint64(raw))), nil
	case oidFloat4:
		if len(raw) != 4 {
			return buf, badLength(col, raw)
		}
		return appendFloat(buf, float64(math.Float32frombits(binary.BigEndian.Uint32(raw)))), nil
	case oidFloat8:
		if len(raw) != 8 {
			return buf, badLength(col, raw)
		}
		return appendFloat(buf, math.Float64frombits(binary.BigEndian.Uint64(raw))), nil
	case oidBytea:
		return appendBytes(buf, abi.TagBlob, raw), nil
	case oidTextArray, oidVarcharArr, oidBPCharArr, oidNameArray:
		return appendTextArray(buf, col, raw)
	}
	return buf, fmt.Errorf("column %s: type %d has no binary decoder", col.name, col.oid)
}

func badLength(col column, raw []byte) error {
	return fmt.Errorf("column %s: %d bytes for type %d", col.name, len(raw), col.oid)
}

func appendInt(buf []byte, v int64) []byte {
	return binary.LittleEndian.AppendUint64(append(buf, abi.TagInt), uint64(v))
}

func appendFloat(buf []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(append(buf, abi.TagFloat), math.Float64bits(v))
}

func appendBytes(buf []byte, tag byte, v []byte) []byte {
	buf = binary.LittleEndian.AppendUint32(append(buf, tag), uint32(len(v)))
	return append(buf, v...)
}

// appendNumeric appends a numeric in its text output form: int, float or
// text, as appendResult says.
func appendNumeric(buf []byte, s string) ([]byte, error) {
	switch s {
	case "NaN":
		return appendFloat(buf, math.NaN()), nil
	case "Infinity":
		return appendFloat(buf, math.Inf(1)), nil
	case "-Infinity":
		return appendFloat(buf, math.Inf(-1)), nil
	}
	if !strings.ContainsAny(s, ".eE") {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return appendInt(buf, v), nil
		}
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return appendFloat(buf, v), nil
	}
	return appendBytes(buf, abi.TagText, []byte(s)), nil
}

// errArray is a text array that comma-joined text cannot represent.
var errArray = errors.New("cannot be read as comma-joined text")

// appendTextArray appends a one-dimensional array of text in binary array
// format (int32 ndim, int32 has-null flag, uint32 element type, per
// dimension int32 length and lower bound, then per element int32 length,
// -1 for NULL, and its bytes) as its elements joined by commas.
func appendTextArray(buf []byte, col column, raw []byte) ([]byte, error) {
	if len(raw) < 12 {
		return buf, badLength(col, raw)
	}
	ndim := int32(binary.BigEndian.Uint32(raw))
	if ndim == 0 {
		return appendBytes(buf, abi.TagText, nil), nil
	}
	if ndim != 1 {
		return buf, fmt.Errorf("column %s: a %d-dimensional array %w", col.name, ndim, errArray)
	}
	if len(raw) < 20 {
		return buf, badLength(col, raw)
	}
	n := int(int32(binary.BigEndian.Uint32(raw[12:])))
	rest := raw[20:]
	tagAt := len(buf)
	buf = binary.LittleEndian.AppendUint32(append(buf, abi.TagText), 0)
	start := len(buf)
	for i := range n {
		if len(rest) < 4 {
			return buf[:tagAt], badLength(col, raw)
		}
		l := int32(binary.BigEndian.Uint32(rest))
		rest = rest[4:]
		switch {
		case l < 0:
			return buf[:tagAt], fmt.Errorf("column %s: an array with a NULL element %w", col.name, errArray)
		case l == 0:
			return buf[:tagAt], fmt.Errorf("column %s: an array with an empty element %w", col.name, errArray)
		case int(l) > len(rest):
			return buf[:tagAt], badLength(col, raw)
		}
		elem := rest[:l]
		rest = rest[l:]
		if bytes.IndexByte(elem, ',') >= 0 {
			return buf[:tagAt], fmt.Errorf("column %s: an element with a comma %w", col.name, errArray)
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, elem...)
	}
	binary.LittleEndian.PutUint32(buf[tagAt+1:], uint32(len(buf)-start))
	return buf, nil
}

// paramOID is the type a wire argument is bound as: int → bigint, float →
// double precision, text → text, blob → bytea; NULL leaves the type to the
// server (0), which infers it from the statement.
func paramOID(v any) uint32 {
	switch v.(type) {
	case int64:
		return oidInt8
	case float64:
		return oidFloat8
	case string:
		return oidText
	case []byte:
		return oidBytea
	}
	return 0
}

// encodeParam appends the binary encoding of a wire argument to buf and
// returns it with the value's own slice (nil for NULL).
func encodeParam(buf []byte, v any) ([]byte, []byte) {
	switch x := v.(type) {
	case int64:
		at := len(buf)
		buf = binary.BigEndian.AppendUint64(buf, uint64(x))
		return buf, buf[at:len(buf):len(buf)]
	case float64:
		at := len(buf)
		buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(x))
		return buf, buf[at:len(buf):len(buf)]
	case string:
		at := len(buf)
		buf = append(buf, x...)
		return buf, buf[at:len(buf):len(buf)]
	case []byte:
		if x == nil {
			x = []byte{} // abi.DecodeArgs gives a fresh slice; a blob is never NULL
		}
		return buf, x
	}
	return buf, nil
}
