package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

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

func noEnv(string) (string, bool) { return "", false }

// Check checks c against the descriptors of the plugins in a directory:
//
//   - a [plugin.NAME] table naming no plugin there is a warning (the plugin
//     may be deployed later, but it is often a typo);
//   - a plugin that declares tables beyond its grant is an error: the
//     daemon refuses to load it;
//   - a plugin there without a grant, while other plugins have one, is a
//     warning: it may use every table it declares;
//   - a config value for a key the plugin does not declare, or of the
//     wrong type, is an error: the daemon refuses to load the plugin. A
//     secret is not read (it may exist only where the daemon runs).
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
		for _, key := range slices.Sorted(maps.Keys(p.Values)) {
			v := p.Values[key]
			if v.Secret() {
				if _, ok := d.Key(key); ok {
					continue
				}
			}
			cv := host.ConfigValue{Literal: v.Literal}
			if v.Secret() {
				cv = host.ConfigValue{Literal: ""} // undeclared: only the key is at fault
			}
			_, err := host.ResolveConfig(d, map[string]host.ConfigValue{key: cv}, noEnv)
			if err != nil {
				msg := strings.TrimPrefix(err.Error(), "config of plugin "+name+": ")
				msg = strings.TrimPrefix(msg, "key "+key+": ")
				add(false, v.Line, "plugin."+name+".config."+key, "%s", msg)
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
