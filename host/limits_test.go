package host

import (
	"strings"
	"testing"
)

func TestLimitsLoadBounds(t *testing.T) {
	l := Limits{MaxNesting: 10}.Merge(DefaultLimits)
	if l.MaxNesting != 10 || l.MaxFunctions != DefaultLimits.MaxFunctions || l.MaxBlockWork != DefaultLimits.MaxBlockWork {
		t.Fatalf("merged: %+v", l)
	}
	if b := l.bounds(); b.Nesting != 10 || b.Functions != l.MaxFunctions || b.CodeBytes != l.MaxCodeBytes ||
		b.FunctionBytes != l.MaxFunctionBytes || b.Locals != l.MaxLocals || b.TotalLocals != l.MaxTotalLocals || b.BlockWork != l.MaxBlockWork {
		t.Errorf("bounds %+v of %+v", b, l)
	}
	for _, tc := range []struct {
		edit func(*Limits)
		want string
	}{
		{func(l *Limits) { l.MaxFunctions = -1 }, "max functions -1: want > 0"},
		{func(l *Limits) { l.MaxFunctionBytes = -1 }, "max function bytes -1"},
		{func(l *Limits) { l.MaxLocals = -1 }, "max locals -1"},
		{func(l *Limits) { l.MaxTotalLocals = -1 }, "max total locals -1"},
		{func(l *Limits) { l.MaxNesting = -1 }, "max nesting -1"},
		{func(l *Limits) { l.MaxCodeBytes = -1 }, "max code bytes -1"},
		{func(l *Limits) { l.MaxBlockWork = -1 }, "max block work -1"},
	} {
		l := DefaultLimits
		tc.edit(&l)
		if err := l.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want %q", err, tc.want)
		}
	}
}
