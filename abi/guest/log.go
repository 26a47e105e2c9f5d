package guest

import (
	"strconv"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// Logger writes to the host's log, one line per call, tagged by the host
// with the plugin's name: msg, then each key=value pair of kv. Values
// render as fmt's %v would for strings, errors, integers, floats, bools,
// time.Duration and Stringers, without linking fmt. (The abi/guest/stdlib
// package has a log/slog Logger for plugins that link log/slog anyway.)
// The zero value is ready to use; Log is one.
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
// 8 error). A key without a value is written as !BADKEY=key, as log/slog
// does.
func (Logger) Log(level int32, msg string, kv ...any) {
	b := append(make([]byte, 0, 64+len(msg)), msg...)
	for i := 0; i < len(kv); i += 2 {
		b = append(b, ' ')
		if i+1 == len(kv) {
			b = append(b, "!BADKEY="...)
			b = appendText(b, kv[i])
			break
		}
		b = appendText(b, kv[i])
		b = append(b, '=')
		b = appendText(b, kv[i+1])
	}
	hostLog(level, bytesPtr(b), uint32(len(b)))
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
