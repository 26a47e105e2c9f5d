package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
)

// limitFields are the resource limits a file's [limits] table and the
// command's --limit flag may set, with how to set each from its text.
var limitFields = map[string]func(*host.Limits, string) error{
	"memory": func(l *host.Limits, v string) (err error) {
		l.MemoryBytes, err = ParseSize(v)
		return err
	},
	"tick-timeout": func(l *host.Limits, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("duration %q: want e.g. 500ms, 30s", v)
		}
		l.TickTimeout = d
		return nil
	},
	"max-call-bytes":   sizeField(func(l *host.Limits) *uint32 { return &l.MaxCallBytes }),
	"max-result-bytes": sizeField(func(l *host.Limits) *uint32 { return &l.MaxResultBytes }),
	"max-output-bytes": sizeField(func(l *host.Limits) *uint32 { return &l.MaxOutputBytes }),
	"max-log-lines":    countField(func(l *host.Limits) *int { return &l.MaxLogLines }),
	// A plugin's log over time, across ticks.
	"log-lines-per-second": countField(func(l *host.Limits) *int { return &l.LogLinesPerSecond }),
	"log-bytes-per-second": func(l *host.Limits, v string) error {
		n, err := ParseSize(v)
		if err != nil {
			return err
		}
		if n > 1<<40 {
			return fmt.Errorf("size %q: want 1 B to 1 TiB", v)
		}
		l.LogBytesPerSecond = int64(n)
		return nil
	},
	// The load bounds, checked before a file is compiled.
	"max-functions":      countField(func(l *host.Limits) *int { return &l.MaxFunctions }),
	"max-function-bytes": intSizeField(func(l *host.Limits) *int { return &l.MaxFunctionBytes }),
	"max-locals":         countField(func(l *host.Limits) *int { return &l.MaxLocals }),
	"max-total-locals":   countField(func(l *host.Limits) *int { return &l.MaxTotalLocals }),
	"max-nesting":        countField(func(l *host.Limits) *int { return &l.MaxNesting }),
	"max-table-elements": countField(func(l *host.Limits) *int { return &l.MaxTableElements }),
	"max-code-bytes":     intSizeField(func(l *host.Limits) *int { return &l.MaxCodeBytes }),
	"max-block-work": func(l *host.Limits, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q: want a positive whole number", v)
		}
		l.MaxBlockWork = n
		return nil
	},
}

// SetLimit sets the limit field (one of LimitNames) of l from its text, e.g.
// "memory" and "128MiB".
func SetLimit(l *host.Limits, field, value string) error {
	set, ok := limitFields[field]
	if !ok {
		return fmt.Errorf("unknown limit %q (want one of %s)", field, strings.Join(LimitNames(), ", "))
	}
	return set(l, value)
}

// LimitNames returns the limit fields SetLimit knows, sorted.
func LimitNames() []string {
	names := make([]string, 0, len(limitFields))
	for n := range limitFields {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// countField sets a count: a positive whole number.
func countField(field func(*host.Limits) *int) func(*host.Limits, string) error {
	return func(l *host.Limits, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q: want a positive whole number", v)
		}
		*field(l) = n
		return nil
	}
}

// intSizeField sets a byte count of at most 1 GiB.
func intSizeField(field func(*host.Limits) *int) func(*host.Limits, string) error {
	return func(l *host.Limits, v string) error {
		n, err := ParseSize(v)
		if err != nil {
			return err
		}
		if n > 1<<30 {
			return fmt.Errorf("size %q is over 1 GiB", v)
		}
		*field(l) = int(n)
		return nil
	}
}

func sizeField(field func(*host.Limits) *uint32) func(*host.Limits, string) error {
	return func(l *host.Limits, v string) error {
		n, err := ParseSize(v)
		if err != nil {
			return err
		}
		if n > 1<<32-1 {
			return fmt.Errorf("size %q is over 4 GiB", v)
		}
		*field(l) = uint32(n)
		return nil
	}
}

// ParseSize parses a byte count with an optional KiB, MiB or GiB suffix.
func ParseSize(v string) (uint64, error) {
	mult := uint64(1)
	num := v
	for _, u := range []struct {
		suffix string
		mult   uint64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(v, u.suffix) {
			num, mult = strings.TrimSuffix(v, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n == 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, optionally with KiB, MiB or GiB", v)
	}
	return n * mult, nil
}
