package guest

import (
	"strconv"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// Logger writes to the host's log, one line per call, tagged by the host
// with the plugin's name: msg, and each key/value pair of kv as an
// attribute of the host's log record (ABI 1.2's structured messages, under
// the group "attrs"). Values render as fmt's %v would for strings, errors,
// integers, floats, bools, time.Duration and Stringers, without linking
// fmt. (The abi/guest/stdlib package has a log/slog Logger for plugins that
// link log/slog anyway.) The zero value is ready to use; Log is one.
type Logger struct{}

// Log is the plugin's Logger.
var Log Logger

// Debug logs at debug level.
func (l Logger) Debug(msg string, kv ...any) { l.Log(abi.LevelDebug, msg, kv...) }

// Info logs at info level.
func (l Logger) Info(msg string, kv ...any) { l.Log(abi.LevelInfo, msg, kv...) }

// Warn logs at warning level.
func (l Logger) Warn(msg string, kv ...any) { l.Log(abi.LevelWarn, msg, kv...) }

// Error logs at error level.
func (l Logger) Error(msg string, kv ...any) { l.Log(abi.LevelError, msg, kv...) }

// Log logs at level, a log/slog level number (-4 debug, 0 info, 4 warn,
// 8 error). A key without a value is logged as the attribute
// !BADKEY=key, as log/slog does. Without kv, the message is plain text, as
// in ABI 1.0.
func (Logger) Log(level int32, msg string, kv ...any) {
	b := encodeLog(msg, kv)
	hostLog(level, bytesPtr(b), uint32(len(b)))
}

// encodeLog is Log's message: msg alone, or with kv the structured
// encoding (abi.AppendLog).
func encodeLog(msg string, kv []any) []byte {
	if len(kv) == 0 {
		return []byte(msg)
	}
	strs := make([]string, 0, len(kv)+1)
	for i := 0; i < len(kv); i += 2 {
		if i+1 == len(kv) {
			strs = append(strs, "!BADKEY", string(appendText(nil, kv[i])))
			break
		}
		strs = append(strs, string(appendText(nil, kv[i])), string(appendText(nil, kv[i+1])))
	}
	return abi.AppendLog(make([]byte, 0, 64+len(msg)), msg, strs...)
}

// appendText appends v as text, as fmt's %v would for the usual types.
func appendText(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "<nil>"...)
	case string:
		return append(b, x...)
	case []byte:
		return append(b, x...)
	case error:
		return append(b, x.Error()...)
	case time.Duration:
		return append(b, x.String()...)
	case interface{ String() string }:
		return append(b, x.String()...)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10)
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(b, x)
	}
	return append(b, "?"...)
}
