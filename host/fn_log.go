package host

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// fnLog: log(level i32, msg_ptr i32, msg_len i32). Writes one line to the
// host's log at a slog level (-4 debug, 0 info, 4 warn, 8 error), tagged
// with the plugin's name. A message over MaxOutputBytes is cut; lines over
// MaxLogLines in one tick, or over the plugin's log rate, are dropped and
// counted.
var fnLog = hostFunc{
	name:    abi.FnLog,
	params:  []api.ValueType{i32, i32, i32},
	names:   []string{"level", "msg_ptr", "msg_len"},
	results: nil,
	fn: func(ctx context.Context, m api.Module, stack []uint64) {
		st := stateFrom(ctx)
		if st == nil {
			return
		}
		level := slog.Level(max(min(api.DecodeI32(stack[0]), abi.LevelError), abi.LevelDebug))
		if st.logLines >= st.limits.MaxLogLines {
			st.dropped++
			return
		}
		st.logLines++
		msg, ok := readString(m.Memory(), api.DecodeU32(stack[1]), api.DecodeU32(stack[2]), st.limits.MaxOutputBytes)
		if !ok {
			msg = "plugin log call with a pointer outside its memory"
			level = slog.LevelWarn
		}
		if st.logRate != nil && !st.logRate.allow(time.Now(), len(msg)) {
			st.rateDropped++
			return
		}
		if !ok {
			st.log.Warn(msg)
			return
		}
		text, attrs := abi.ParseLog(msg)
		if attrs == nil {
			st.log.Log(ctx, level, text, "source", "plugin")
			return
		}
		// A structured message (ABI 1.2): its attributes go in a group of
		// their own, so a plugin cannot pose as the host's keys.
		group := make([]any, len(attrs))
		for i, a := range attrs {
			if a[0] == "" {
				a[0] = "!BADKEY"
			}
			group[i] = slog.String(a[0], a[1])
		}
		st.log.Log(ctx, level, text, "source", "plugin", slog.Group("attrs", group...))
	},
}

// readString reads at most limit bytes of (ptr, n) from guest memory as one
// line: newlines become spaces, so a plugin cannot forge log lines.
func readString(mem api.Memory, ptr, n, limit uint32) (string, bool) {
	cut := n > limit
	b, ok := mem.Read(ptr, min(n, limit))
	if !ok {
		return "", false
	}
	s := strings.ReplaceAll(strings.ReplaceAll(string(b), "\r", " "), "\n", " ")
	if cut {
		s += "…(cut)"
	}
	return s, true
}
