// Package config reads the daemon's configuration file: TOML with the
// settings the command's flags take (under the flags' names) and one
// [plugin.NAME] table per plugin, with its interval, limits, grant and
// configuration values.
//
// It parses and checks the file, naming the line of each mistake; it does
// not decide precedence (a flag beats the environment, which beats the
// file: that is the command's) nor apply anything (that is the daemon's).
// It imports the runtime (host) for its Limits and Grant types, and nothing
// above it.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host"
)

// MaxFileBytes bounds the size of a configuration file.
const MaxFileBytes = 1 << 20

// MaxInterval is the longest interval a file may set: 365 days, as a
// plugin's default_interval_ms may declare.
const MaxInterval = describe.MaxIntervalMS * time.Millisecond

// Config is a parsed configuration file. A global setting the file does not
// set is nil.
type Config struct {
	// Path is the file it was read from.
	Path string

	DB, Plugins, HTTP, Fixtures, CacheDir *string
	MinInterval, DrainPause, StandbyPoll  *time.Duration
	Grace                                 *time.Duration
	// CatchUp is "once" or "never".
	CatchUp    *string
	StaleAfter *int
	// Synchronous is "NORMAL" or "FULL".
	Synchronous      *string
	PluginSQLiteHeap *int64
	// LogFormat is "text" or "json".
	LogFormat *string
	LogLevel  *slog.Level

	// RolePrefix, LeaseTTL and Partitions are PostgreSQL's: the prefix of
	// the plugins' login roles, the cluster lease TTL, and partition counts
	// by family (nil when the file sets none).
	RolePrefix *string
	LeaseTTL   *time.Duration
	Partitions map[string]int

	// Limits are every plugin's limits; zero fields are not set.
	Limits host.Limits
	// Plugin holds the [plugin.NAME] tables by plugin name.
	Plugin map[string]Plugin
}

// Plugin is one [plugin.NAME] table. A setting it does not set is nil.
type Plugin struct {
	// Enabled false disables the plugin (as an interval of 0 does).
	Enabled  *bool
	Interval *time.Duration
	Drain    *bool
	// Limits override the file's and the command's limits for this plugin;
	// zero fields are not set.
	Limits host.Limits
	// Grant, if set, is what the plugin may use; see host.Grant.
	Grant *host.Grant
	// Values are the plugin's configuration values by key.
	Values map[string]Value
	// Line is the line of the table's header, or of its first key.
	Line int
}

// Value is one configuration value of a plugin: a literal (string, int64,
// bool or float64), or a secret read from an environment variable or a
// file when the plugin loads.
type Value struct {
	// Literal is the value written in the file; nil for a secret.
	Literal any
	// Env and File name where a secret comes from; at most one is set.
	Env, File string
	// Line is where the value is written.
	Line int
}

// Secret reports whether v is read from the environment or a file.
func (v Value) Secret() bool { return v.Env != "" || v.File != "" }

// String describes v without revealing a secret.
func (v Value) String() string {
	switch {
	case v.Env != "":
		return "(secret from env " + v.Env + ")"
	case v.File != "":
		return "(secret from file " + v.File + ")"
	}
	return fmt.Sprint(v.Literal)
}

// Error is a mistake in a configuration file, at a line (0 if unknown).
type Error struct {
	Path string
	Line int
	// Key is the dotted key at fault, e.g. plugin.budget_reset.interval.
	Key string
	Msg string
}

func (e *Error) Error() string {
	where := e.Path
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Key == "" {
		return where + ": " + e.Msg
	}
	return where + ": " + e.Key + ": " + e.Msg
}

// Errors are every mistake found in one file, in line order.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Load reads and checks the file at path. Its error is an Errors listing
// every mistake with its line, or an error naming the file if it cannot be
// read.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxFileBytes+1)); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if buf.Len() > MaxFileBytes {
		return nil, fmt.Errorf("config file %s: over %d bytes", path, MaxFileBytes)
	}
	return Parse(path, buf.Bytes())
}

// raw is the file as TOML decodes it, before its values are checked.
type raw struct {
	DB               *string        `toml:"db"`
	Plugins          *string        `toml:"plugins"`
	HTTP             *string        `toml:"http"`
	Fixtures         *string        `toml:"fixtures"`
	CacheDir         *string        `toml:"cache-dir"`
	MinInterval      *string        `toml:"min-interval"`
	DrainPause       *string        `toml:"drain-pause"`
	StandbyPoll      *string        `toml:"standby-poll"`
	Grace            *string        `toml:"grace"`
	CatchUp          *string        `toml:"catch-up"`
	StaleAfter       *int64         `toml:"stale-after"`
	Synchronous      *string        `toml:"synchronous"`
	PluginSQLiteHeap *string        `toml:"plugin-sqlite-heap"`
	LogFormat        *string        `toml:"log-format"`
	LogLevel         *string        `toml:"log-level"`
	RolePrefix       *string        `toml:"role-prefix"`
	LeaseTTL         *string        `toml:"lease-ttl"`
	Partitions       map[string]any `toml:"partitions"`
	Limits           map[string]any `toml:"limits"`
	Plugin           map[string]rawPlugin
}

type rawPlugin struct {
	Enabled  *bool          `toml:"enabled"`
	Interval *string        `toml:"interval"`
	Drain    *bool          `toml:"drain"`
	Limits   map[string]any `toml:"limits"`
	Grant    *rawGrant      `toml:"grant"`
	Config   map[string]any `toml:"config"`
}

type rawGrant struct {
	Read  []string `toml:"read"`
	Write []string `toml:"write"`
	Own   []string `toml:"own"`
}

// Parse checks data, the text of the file at path.
func Parse(path string, data []byte) (*Config, error) {
	var r raw
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, decodeErrors(path, err)
	}
	p := &parser{path: path, lines: keyLines(data)}
	c := &Config{Path: path, DB: r.DB, Plugins: r.Plugins, HTTP: r.HTTP, Fixtures: r.Fixtures, CacheDir: r.CacheDir}
	c.MinInterval = p.duration("min-interval", r.MinInterval, false)
	c.DrainPause = p.duration("drain-pause", r.DrainPause, false)
	c.StandbyPoll = p.duration("standby-poll", r.StandbyPoll, true)
	c.Grace = p.duration("grace", r.Grace, false)
	c.CatchUp = p.oneOf("catch-up", r.CatchUp, "once", "never")
	if r.StaleAfter != nil {
		if *r.StaleAfter <= 0 || *r.StaleAfter > 1<<20 {
			p.errorf("stale-after", "%d: want a positive number of intervals", *r.StaleAfter)
		} else {
			n := int(*r.StaleAfter)
			c.StaleAfter = &n
		}
	}
	if r.Synchronous != nil {
		up := strings.ToUpper(*r.Synchronous)
		c.Synchronous = p.oneOf("synchronous", &up, "NORMAL", "FULL")
	}
	if r.PluginSQLiteHeap != nil {
		n, err := ParseSize(*r.PluginSQLiteHeap)
		switch {
		case err != nil:
			p.errorf("plugin-sqlite-heap", "%v", err)
		case n < 8<<20 || n > 1<<40:
			p.errorf("plugin-sqlite-heap", "size %q: want 8MiB to 1TiB", *r.PluginSQLiteHeap)
		default:
			v := int64(n)
			c.PluginSQLiteHeap = &v
		}
	}
	c.LogFormat = p.oneOf("log-format", r.LogFormat, "text", "json")
	if r.LogLevel != nil {
		var l slog.Level
		if err := l.UnmarshalText([]byte(*r.LogLevel)); err != nil {
			p.errorf("log-level", "%q: want debug, info, warn or error", *r.LogLevel)
		} else {
			c.LogLevel = &l
		}
	}
	c.RolePrefix = r.RolePrefix
	if c.RolePrefix != nil && !rolePrefixRE.MatchString(*c.RolePrefix) {
		p.errorf("role-prefix", "%q: want a lowercase letter, then up to 31 lowercase letters, digits or '_'", *c.RolePrefix)
		c.RolePrefix = nil
	}
	c.LeaseTTL = p.duration("lease-ttl", r.LeaseTTL, true)
	c.Partitions = p.partitions("partitions", r.Partitions)
	c.Limits = p.limits("limits", r.Limits)
	c.Plugin = map[string]Plugin{}
	for _, name := range slices.Sorted(maps.Keys(r.Plugin)) {
		key := "plugin." + name
		if !describe.ValidName(name) {
			p.errorf(key, "%q is not a plugin name (lowercase letters, digits, '_')", name)
			continue
		}
		c.Plugin[name] = p.plugin(key, r.Plugin[name])
	}
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *Error) int { return a.Line - b.Line })
		return nil, p.errs
	}
	return c, nil
}

// parser checks the decoded values, collecting every mistake.
type parser struct {
	path  string
	lines map[string]int
	errs  Errors
}

func (p *parser) errorf(key, format string, args ...any) {
	p.errs = append(p.errs, &Error{Path: p.path, Line: p.line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// line returns the line of key, or of the nearest enclosing key written.
func (p *parser) line(key string) int {
	for key != "" {
		if l, ok := p.lines[key]; ok {
			return l
		}
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

func (p *parser) duration(key string, s *string, positive bool) *time.Duration {
	if s == nil {
		return nil
	}
	d, err := time.ParseDuration(*s)
	switch {
	case err != nil:
		p.errorf(key, "duration %q: want e.g. 500ms, 15s, 1m", *s)
	case d < 0 || (positive && d == 0):
		p.errorf(key, "duration %q: want a positive duration", *s)
	case d > MaxInterval:
		p.errorf(key, "duration %q is over the limit of %v", *s, MaxInterval)
	default:
		return &d
	}
	return nil
}

func (p *parser) oneOf(key string, s *string, allowed ...string) *string {
	if s == nil {
		return nil
	}
	if !slices.Contains(allowed, *s) {
		p.errorf(key, "%q: want %s", *s, strings.Join(allowed, " or "))
		return nil
	}
	return s
}

// rolePrefixRE bounds role-prefix so that prefix plus a plugin name stays
// a PostgreSQL identifier (63 bytes).
var rolePrefixRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// MaxPartitions bounds a partition family's count in the file: partition
// keys are smallint.
const MaxPartitions = 32767

// partitions checks a partitions table: each key a family name, each
// value a whole number of partitions.
func (p *parser) partitions(key string, m map[string]any) map[string]int {
	if len(m) == 0 {
		return nil
	}
	out := map[string]int{}
	for _, fam := range slices.Sorted(maps.Keys(m)) {
		k := key + "." + fam
		if !describe.ValidName(fam) {
			p.errorf(k, "%q is not a partition family name (lowercase letters, digits, '_')", fam)
			continue
		}
		n, ok := m[fam].(int64)
		if !ok {
			p.errorf(k, "want a whole number of partitions, not %s", typeName(m[fam]))
			continue
		}
		if n < 1 || n > MaxPartitions {
			p.errorf(k, "%d partitions: want 1 to %d", n, MaxPartitions)
			continue
		}
		out[fam] = int(n)
	}
	return out
}

// limits checks a limits table: each key a limit field, each value a size
// or count as text or a whole number.
func (p *parser) limits(key string, m map[string]any) host.Limits {
	var l host.Limits
	for _, field := range slices.Sorted(maps.Keys(m)) {
		k := key + "." + field
		var text string
		switch v := m[field].(type) {
		case string:
			text = v
		case int64:
			text = strconv.FormatInt(v, 10)
		default:
			p.errorf(k, "want a string or a whole number, not %s", typeName(v))
			continue
		}
		if err := SetLimit(&l, field, text); err != nil {
			p.errorf(k, "%v", err)
		}
	}
	return l
}

func (p *parser) plugin(key string, r rawPlugin) Plugin {
	pl := Plugin{Enabled: r.Enabled, Drain: r.Drain, Line: p.line(key)}
	if r.Interval != nil {
		pl.Interval = p.duration(key+".interval", r.Interval, false)
	}
	pl.Limits = p.limits(key+".limits", r.Limits)
	if r.Grant != nil {
		g := &host.Grant{Read: r.Grant.Read, Write: r.Grant.Write, Own: r.Grant.Own}
		for _, list := range []struct {
			name   string
			tables []string
		}{{"read", g.Read}, {"write", g.Write}, {"own", g.Own}} {
			for _, t := range list.tables {
				if !describe.ValidTable(t) {
					p.errorf(key+".grant."+list.name, "%q is not a table name", t)
				}
			}
		}
		pl.Grant = g
	}
	if len(r.Config) > 0 {
		pl.Values = map[string]Value{}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Config)) {
		k := key + ".config." + name
		v := Value{Line: p.line(k)}
		switch x := r.Config[name].(type) {
		case string, int64, bool, float64:
			v.Literal = x
		case map[string]any:
			env, eok := x["env"].(string)
			file, fok := x["file"].(string)
			switch {
			case len(x) == 1 && eok && env != "":
				v.Env = env
			case len(x) == 1 && fok && file != "":
				v.File = file
			default:
				p.errorf(k, `a table value must be a secret: {env = "NAME"} or {file = "/path"}`)
				continue
			}
		default:
			p.errorf(k, "want a string, whole number, bool, float or a secret, not %s", typeName(x))
			continue
		}
		pl.Values[name] = v
	}
	return pl
}

func typeName(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case string:
		return "a string"
	case int64:
		return "a whole number"
	case float64:
		return "a float"
	case bool:
		return "a bool"
	}
	return fmt.Sprintf("a %T", v)
}

// typeErrRE matches go-toml's type mismatch, to say it in the file's terms.
var typeErrRE = regexp.MustCompile(`^cannot decode TOML (\w+) into .*?(\*?\[?\]?[\w.]+)$`)

// goTypeNames names the Go types of raw in TOML's terms.
var goTypeNames = map[string]string{
	"string": "a string", "int64": "a whole number", "bool": "true or false", "[]string": "a list of strings",
	"config.rawPlugin": "a table", "config.rawGrant": "a table",
}

// decodeErrors turns go-toml's errors into Errors with lines.
func decodeErrors(path string, err error) error {
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) {
		es := make(Errors, 0, len(sm.Errors))
		for i := range sm.Errors {
			de := &sm.Errors[i]
			line, _ := de.Position()
			es = append(es, &Error{Path: path, Line: line, Key: strings.Join(de.Key(), "."), Msg: "unknown key"})
		}
		return es
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if m := typeErrRE.FindStringSubmatch(msg); m != nil && goTypeNames[m[2]] != "" {
			msg = "want " + goTypeNames[m[2]] + ", not a TOML " + m[1]
		}
		return Errors{{Path: path, Line: line, Key: strings.Join(de.Key(), "."), Msg: msg}}
	}
	return Errors{{Path: path, Msg: err.Error()}}
}
