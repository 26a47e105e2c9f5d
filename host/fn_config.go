package host

import (
	"context"
	"errors"

	"github.com/tetratelabs/wazero/api"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// errNoConfig answers config_get outside scan_tick.
var errNoConfig = errors.New("config_get is only available during scan_tick")

// maxConfigKeyBytes bounds a key passed to config_get: longer keys cannot
// be declared.
const maxConfigKeyBytes = 64

// fnConfigGet: config_get(key_ptr i32, key_len i32, out_ptr i32, out_cap
// i32) -> i64 (ABI 1.3). The payload is the key's value as canonical text
// (describe.CanonicalConfigValue), or an error message: invalid for a call
// outside scan_tick, a key over 64 bytes or outside memory, or a key the
// plugin does not declare.
var fnConfigGet = hostFunc{
	name:    abi.FnConfigGet,
	params:  []api.ValueType{i32, i32, i32, i32},
	names:   []string{"key_ptr", "key_len", "out_ptr", "out_cap"},
	results: []api.ValueType{i64},
	fn: func(ctx context.Context, m api.Module, stack []uint64) {
		mem := m.Memory()
		keyPtr, keyLen := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
		outPtr, outCap := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
		st := stateFrom(ctx)
		s, payload := configCore(st, keyLen, func() ([]byte, string) {
			key, ok := mem.Read(keyPtr, keyLen)
			if !ok {
				return nil, "config key pointer and length are outside guest memory"
			}
			return key, ""
		})
		stack[0] = replyTo(st, mem, outPtr, outCap, s, payload)
	},
}

// configCore is config_get for both plugin kinds: read returns the key
// from the guest's memory, or the message of why it cannot.
func configCore(st *callState, keyLen uint32, read func() (key []byte, bad string)) (abi.Status, []byte) {
	if st == nil || st.conn == nil {
		return abi.StatusInvalid, []byte(errNoConfig.Error())
	}
	if keyLen > maxConfigKeyBytes {
		return abi.StatusInvalid, []byte("config key over 64 bytes")
	}
	key, bad := read()
	if bad != "" {
		return abi.StatusInvalid, []byte(bad)
	}
	v, ok := st.config[string(key)]
	if !ok {
		return abi.StatusInvalid, []byte("config key " + quoteKey(key) + " is not declared by the plugin")
	}
	return abi.StatusOK, []byte(v)
}

// quoteKey quotes a key for an error message; it is at most 64 bytes.
func quoteKey(key []byte) string {
	out := make([]byte, 0, len(key)+2)
	out = append(out, '"')
	for _, c := range key {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			c = '?'
		}
		out = append(out, c)
	}
	return string(append(out, '"'))
}
