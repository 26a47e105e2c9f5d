package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/config"
)

// limitFlag is --limit [NAME.]FIELD=VALUE: a resource limit for every
// plugin, or for the plugin NAME only. Repeatable.
type limitFlag struct {
	all    host.Limits
	plugin map[string]host.Limits
	set    []string
}

func (f *limitFlag) String() string { return strings.Join(f.set, ",") }

func (f *limitFlag) Set(s string) error {
	key, val, ok := strings.Cut(s, "=")
	if !ok || val == "" {
		return errors.New("want [PLUGIN.]FIELD=VALUE, e.g. memory=128MiB or budget_reset.tick-timeout=10s")
	}
	name, field, scoped := strings.Cut(key, ".")
	if !scoped {
		name, field = "", key
	}
	if !slices.Contains(config.LimitNames(), field) {
		return fmt.Errorf("unknown limit %q (want one of %s)", field, strings.Join(config.LimitNames(), ", "))
	}
	if scoped && !describe.ValidName(name) {
		return fmt.Errorf("%q is not a plugin name (lowercase letters, digits, '_')", name)
	}
	if !scoped {
		if err := config.SetLimit(&f.all, field, val); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
	} else {
		if f.plugin == nil {
			f.plugin = map[string]host.Limits{}
		}
		l := f.plugin[name]
		if err := config.SetLimit(&l, field, val); err != nil {
			return fmt.Errorf("%s.%s: %w", name, field, err)
		}
		f.plugin[name] = l
	}
	f.set = append(f.set, s)
	return nil
}

// addLimitFlag registers --limit on fs.
func addLimitFlag(fs *flag.FlagSet) *limitFlag {
	f := &limitFlag{}
	d := host.DefaultLimits
	fs.Var(f, "limit", "a resource limit as `[PLUGIN.]FIELD=VALUE`, for every plugin or one; repeatable. Fields: "+
		strings.Join(config.LimitNames(), ", ")+" (defaults: memory=64MiB tick-timeout=30s max-call-bytes=1MiB max-result-bytes=16MiB max-output-bytes=64KiB max-log-lines=1000; "+
		fmt.Sprintf("load bounds, checked before compiling: max-functions=%d max-function-bytes=%dKiB max-locals=%d "+
			"max-total-locals=%d max-nesting=%d max-code-bytes=%dMiB max-block-work=%d max-table-elements=%d)",
			d.MaxFunctions, d.MaxFunctionBytes>>10, d.MaxLocals, d.MaxTotalLocals, d.MaxNesting, d.MaxCodeBytes>>20, d.MaxBlockWork,
			d.MaxTableElements))
	return f
}
