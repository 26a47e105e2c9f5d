package stdlib

import (
	"context"
	"log/slog"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

// Logger returns a slog.Logger whose records go to the host's log through
// guest.Log, tagged with the plugin's name by the host. Attributes are
// rendered as key=value.
func Logger() *slog.Logger { return slog.New(hostHandler{}) }

type hostHandler struct {
	attrs []slog.Attr
	group string
}

func (hostHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h hostHandler) Handle(_ context.Context, r slog.Record) error {
	var kv []any
	write := func(a slog.Attr) bool {
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		kv = append(kv, key, a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	guest.Log.Log(int32(r.Level), r.Message, kv...)
	return nil
}

func (h hostHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return h
}

func (h hostHandler) WithGroup(name string) slog.Handler {
	if h.group != "" {
		name = h.group + "." + name
	}
	h.group = name
	return h
}
