package config

import (
	"fmt"
	"maps"
	"slices"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host"
)

// Finding is one thing Check reports about a file: an error the daemon
// would refuse a plugin for, or a warning about something it would accept.
type Finding struct {
	Warning bool
	Err     *Error
}

func (f Finding) String() string {
	if f.Warning {
		return "warning: " + f.Err.Error()
	}
	return "error: " + f.Err.Error()
}

// Check checks c against the descriptors of the plugins in a directory:
//
//   - a [plugin.NAME] table naming no plugin there is a warning (the plugin
//     may be deployed later, but it is often a typo);
//   - a plugin that declares tables beyond its grant is an error: the
//     daemon refuses to load it;
//   - a plugin there without a grant, while other plugins have one, is a
//     warning: it may use every table it declares.
//
// Findings come in line order.
func Check(c *Config, plugins []describe.Descriptor) []Finding {
	byName := map[string]describe.Descriptor{}
	for _, d := range plugins {
		byName[d.Name] = d
	}
	var out []Finding
	add := func(warning bool, line int, key, format string, args ...any) {
		out = append(out, Finding{Warning: warning, Err: &Error{Path: c.Path, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}})
	}
	anyGrant := false
	for _, p := range c.Plugin {
		anyGrant = anyGrant || p.Grant != nil
	}
	for _, name := range slices.Sorted(maps.Keys(c.Plugin)) {
		p := c.Plugin[name]
		d, ok := byName[name]
		if !ok {
			add(true, p.Line, "plugin."+name, "no plugin named %s in the plugin directory", name)
			continue
		}
		if p.Grant != nil {
			if err := host.CheckGrant(d, *p.Grant); err != nil {
				add(false, p.Line, "plugin."+name+".grant", "%v", err)
			}
		}
	}
	for _, d := range plugins {
		if _, ok := c.Plugin[d.Name]; anyGrant && (!ok || c.Plugin[d.Name].Grant == nil) {
			add(true, 0, "", "plugin %s has no grant: it may use every table it declares", d.Name)
		}
	}
	// Findings without a line come last.
	line := func(f Finding) int {
		if f.Err.Line == 0 {
			return 1 << 30
		}
		return f.Err.Line
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return line(a) - line(b) })
	return out
}
