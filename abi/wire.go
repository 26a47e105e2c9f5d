package abi

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
)

// Value tags of the wire encoding. Every value starts with one tag byte.
const (
	TagNull  byte = 0 // no payload
	TagInt   byte = 1 // 8 bytes, little-endian two's complement
	TagFloat byte = 2 // 8 bytes, little-endian IEEE 754 bits
	TagText  byte = 3 // u32 length, then that many UTF-8 bytes
	TagBlob  byte = 4 // u32 length, then that many bytes
)

// ErrShort reports an encoding that ends before the data it announces.
var ErrShort = errors.New("wire: truncated")

// AppendValue appends the encoding of v to b. v must be nil, int64,
// float64, string or []byte; other integer types and bool are widened to
// int64. A nil []byte is encoded as NULL. An unsigned value above
// math.MaxInt64, or a string or []byte longer than a u32 can say, is an
// error and leaves b as it was.
func AppendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, TagNull), nil
	case int64:
		return appendInt(b, x), nil
	case int:
		return appendInt(b, int64(x)), nil
	case int32:
		return appendInt(b, int64(x)), nil
	case int16:
		return appendInt(b, int64(x)), nil
	case int8:
		return appendInt(b, int64(x)), nil
	case uint32:
		return appendInt(b, int64(x)), nil
	case uint16:
		return appendInt(b, int64(x)), nil
	case uint8:
		return appendInt(b, int64(x)), nil
	case uint:
		return appendUint(b, uint64(x))
	case uint64:
		return appendUint(b, x)
	case bool:
		if x {
			return appendInt(b, 1), nil
		}
		return appendInt(b, 0), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, TagFloat), math.Float64bits(x)), nil
	case string:
		if uint64(len(x)) > math.MaxUint32 {
			return b, errors.New("wire: text of " + strconv.Itoa(len(x)) + " bytes is too long")
		}
		b = binary.LittleEndian.AppendUint32(append(b, TagText), uint32(len(x)))
		return append(b, x...), nil
	case []byte:
		if x == nil {
			return append(b, TagNull), nil
		}
		if uint64(len(x)) > math.MaxUint32 {
			return b, errors.New("wire: blob of " + strconv.Itoa(len(x)) + " bytes is too long")
		}
		b = binary.LittleEndian.AppendUint32(append(b, TagBlob), uint32(len(x)))
		return append(b, x...), nil
	}
	return b, errors.New("wire: unsupported value type (want nil, an integer, bool, float64, string or []byte)")
}

func appendInt(b []byte, v int64) []byte {
	return binary.LittleEndian.AppendUint64(append(b, TagInt), uint64(v))
}

func appendUint(b []byte, v uint64) ([]byte, error) {
	if v > math.MaxInt64 {
		return b, errors.New("wire: unsigned value " + strconv.FormatUint(v, 10) + " overflows int64")
	}
	return appendInt(b, int64(v)), nil
}

// AppendArgs appends a statement's arguments: u32 count, then each value.
func AppendArgs(b []byte, args []any) ([]byte, error) {
	if uint64(len(args)) > math.MaxUint32 {
		return b, errors.New("wire: " + strconv.Itoa(len(args)) + " arguments are too many")
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(args)))
	var err error
	for i, a := range args {
		if b, err = AppendValue(b, a); err != nil {
			return b, wrap("argument "+strconv.Itoa(i+1), err)
		}
	}
	return b, nil
}

// Decoder reads the wire encoding from a byte slice. Its methods never read
// past the slice, whatever the bytes claim.
type Decoder struct {
	b   []byte
	off int
}

// NewDecoder returns a Decoder that reads b from the start.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Reset makes d read b from the start.
func (d *Decoder) Reset(b []byte) { d.b, d.off = b, 0 }

// Remaining is the number of bytes not read yet.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// Uint32 reads a little-endian u32.
func (d *Decoder) Uint32() (uint32, error) {
	if d.Remaining() < 4 {
		return 0, ErrShort
	}
	v := binary.LittleEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v, nil
}

// Int64 reads a little-endian i64.
func (d *Decoder) Int64() (int64, error) {
	if d.Remaining() < 8 {
		return 0, ErrShort
	}
	v := binary.LittleEndian.Uint64(d.b[d.off:])
	d.off += 8
	return int64(v), nil
}

// Bytes reads a u32 length and returns that many bytes, aliasing the
// decoder's slice.
func (d *Decoder) Bytes() ([]byte, error) {
	n, err := d.Uint32()
	if err != nil {
		return nil, err
	}
	if uint64(n) > uint64(d.Remaining()) {
		return nil, ErrShort
	}
	v := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return v, nil
}

// Value reads one value: nil, int64, float64, string or a fresh []byte.
func (d *Decoder) Value() (any, error) {
	if d.Remaining() < 1 {
		return nil, ErrShort
	}
	tag := d.b[d.off]
	d.off++
	switch tag {
	case TagNull:
		return nil, nil
	case TagInt:
		return d.Int64()
	case TagFloat:
		v, err := d.Int64()
		return math.Float64frombits(uint64(v)), err
	case TagText:
		v, err := d.Bytes()
		if err != nil {
			return nil, err
		}
		return string(v), nil
	case TagBlob:
		v, err := d.Bytes()
		if err != nil {
			return nil, err
		}
		return append([]byte{}, v...), nil
	}
	return nil, errors.New("wire: unknown value tag " + strconv.Itoa(int(tag)))
}

// Count reads a u32 count of items that each take at least min bytes and
// rejects a count the remaining bytes cannot hold.
func (d *Decoder) Count(min int) (int, error) {
	n, err := d.Uint32()
	if err != nil {
		return 0, err
	}
	if min > 0 && uint64(n)*uint64(min) > uint64(d.Remaining()) {
		return 0, ErrShort
	}
	return int(n), nil
}

// DecodeArgs decodes an AppendArgs encoding and appends the values to dst.
// The whole of b must be used.
func DecodeArgs(b []byte, dst []any) ([]any, error) {
	if len(b) == 0 {
		return dst, nil // no arguments may be sent as an empty buffer
	}
	d := NewDecoder(b)
	n, err := d.Count(1)
	if err != nil {
		return dst, wrap("decode arguments", err)
	}
	for i := 0; i < n; i++ {
		v, err := d.Value()
		if err != nil {
			return dst, wrap("decode argument "+strconv.Itoa(i+1), err)
		}
		dst = append(dst, v)
	}
	if d.Remaining() != 0 {
		return dst, errors.New("decode arguments: " + strconv.Itoa(d.Remaining()) + " trailing bytes")
	}
	return dst, nil
}

// ExecResultSize is the size of an exec result: rows affected, last insert id.
const ExecResultSize = 16

// AppendExecResult appends an exec result.
func AppendExecResult(b []byte, rowsAffected, lastInsertID int64) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(rowsAffected))
	return binary.LittleEndian.AppendUint64(b, uint64(lastInsertID))
}

// DecodeExecResult decodes an exec result.
func DecodeExecResult(b []byte) (rowsAffected, lastInsertID int64, err error) {
	if len(b) != ExecResultSize {
		return 0, 0, errors.New("decode exec result: " + strconv.Itoa(len(b)) + " bytes, want " + strconv.Itoa(ExecResultSize))
	}
	return int64(binary.LittleEndian.Uint64(b)), int64(binary.LittleEndian.Uint64(b[8:])), nil
}

// AppendColumns starts a query result: u32 column count, each name as u32
// length plus bytes, then a u32 row count placeholder. It returns the
// buffer and the offset of the placeholder for SetRowCount.
func AppendColumns(b []byte, names []string) ([]byte, int) {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(names)))
	for _, n := range names {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(n)))
		b = append(b, n...)
	}
	at := len(b)
	return binary.LittleEndian.AppendUint32(b, 0), at
}

// SetRowCount writes the row count at the offset AppendColumns returned.
func SetRowCount(b []byte, at int, rows uint32) {
	binary.LittleEndian.PutUint32(b[at:], rows)
}

// QueryHeader decodes the start of a query result: the column names and the
// row count. The decoder is left at the first value of the first row; rows
// follow row-major, each with len(columns) values.
func QueryHeader(d *Decoder) (columns []string, rows int, err error) {
	n, err := d.Count(4)
	if err != nil {
		return nil, 0, wrap("decode columns", err)
	}
	columns = make([]string, n)
	for i := range columns {
		b, err := d.Bytes()
		if err != nil {
			return nil, 0, wrap("decode column "+strconv.Itoa(i+1), err)
		}
		columns[i] = string(b)
	}
	perRow := len(columns)
	if perRow == 0 {
		perRow = 1 // a row with no columns still may not be claimed for free
	}
	if rows, err = d.Count(perRow); err != nil {
		return nil, 0, wrap("decode row count", err)
	}
	return columns, rows, nil
}

// QueryShape is QueryHeader without the names: it skips them, allocating
// nothing, and returns the number of columns and rows.
func QueryShape(d *Decoder) (columns, rows int, err error) {
	n, err := d.Count(4)
	if err != nil {
		return 0, 0, wrap("decode columns", err)
	}
	for i := range n {
		if _, err := d.Bytes(); err != nil {
			return 0, 0, wrap("decode column "+strconv.Itoa(i+1), err)
		}
	}
	if rows, err = d.Count(max(n, 1)); err != nil {
		return 0, 0, wrap("decode row count", err)
	}
	return n, rows, nil
}

// wrap is fmt.Errorf("%s: %w", what, err) without fmt, which guests do not
// link: it would double a plugin's size.
func wrap(what string, err error) error { return &wrapped{what, err} }

type wrapped struct {
	what string
	err  error
}

func (w *wrapped) Error() string { return w.what + ": " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
