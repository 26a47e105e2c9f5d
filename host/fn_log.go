package host

import (
	"context"
	"strings"

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
		logCore(ctx, stateFrom(ctx), api.DecodeI32(stack[0]), m.Memory(), api.DecodeU32(stack[1]), api.DecodeU32(stack[2]))
	},
}

// readString reads at most limit bytes of (ptr, n) from guest memory as one
// line (oneLine).
func readString(mem api.Memory, ptr, n, limit uint32) (string, bool) {
	b, ok := mem.Read(ptr, min(n, limit))
	if !ok {
		return "", false
	}
	s := oneLine(string(b), limit)
	if n > limit {
		s += "…(cut)"
	}
	return s, true
}

// oneLine returns s cut at limit bytes, with newlines made spaces, so a
// plugin cannot forge log lines.
func oneLine(s string, limit uint32) string {
	cut := uint32(len(s)) > limit
	if cut {
		s = s[:limit]
	}
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r", " "), "\n", " ")
	if cut {
		s += "…(cut)"
	}
	return s
}
