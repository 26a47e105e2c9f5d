package host

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
)

// ConfigValue is the operator's value for one of a plugin's configuration
// keys: a literal (string, int64, bool or float64, as TOML gives them), or
// a secret read, when the plugin loads, from an environment variable or a
// file.
type ConfigValue struct {
	Literal   any
	Env, File string
}

// Configuration value sources, as ConfigEntry.Source reports them.
const (
	SourceDefault = "default"
	SourceFile    = "file"
)

// ConfigEntry is one configuration key of a loaded plugin with the value
// config_get returns for it.
type ConfigEntry struct {
	Key, Type, Doc string
	// Value is the canonical text config_get returns
	// (describe.CanonicalConfigValue). For a secret it is the secret
	// itself: show Shown instead, never Value.
	Value string
	// Source is SourceDefault or SourceFile.
	Source string
	// Secret says where a secret came from, "env NAME" or "file PATH";
	// empty for a value that is not secret.
	Secret string
}

// Shown is the entry's value as it may be logged or displayed: a secret
// is replaced by where it came from.
func (e ConfigEntry) Shown() string {
	if e.Secret != "" {
		return "(secret from " + e.Secret + ")"
	}
	return e.Value
}

// ConfigValues returns the entries as config_get serves them, by key.
func ConfigValues(entries []ConfigEntry) map[string]string {
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		out[e.Key] = e.Value
	}
	return out
}

// ResolveConfig returns the value of every configuration key d declares:
// the operator's from vals, else the key's default. Keys in vals that d
// does not declare, values of the wrong type and secrets that cannot be
// read are refused; the error names the plugin and every key at fault,
// and never a secret's value. lookupEnv reads the environment (os.LookupEnv).
func ResolveConfig(d describe.Descriptor, vals map[string]ConfigValue, lookupEnv func(string) (string, bool)) ([]ConfigEntry, error) {
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		if _, ok := d.Key(k); !ok {
			declared := make([]string, len(d.Config))
			for i, c := range d.Config {
				declared[i] = c.Name
			}
			list := "none"
			if len(declared) > 0 {
				list = strings.Join(declared, ", ")
			}
			problems = append(problems, fmt.Sprintf("unknown key %s (declared: %s)", k, list))
		}
	}
	entries := make([]ConfigEntry, 0, len(d.Config))
	for _, k := range d.Config {
		e := ConfigEntry{Key: k.Name, Type: k.Type, Doc: k.Doc, Source: SourceDefault}
		text := k.Default
		if v, ok := vals[k.Name]; ok {
			e.Source = SourceFile
			var err error
			if text, e.Secret, err = valueText(k.Type, v, lookupEnv); err != nil {
				problems = append(problems, fmt.Sprintf("key %s: %v", k.Name, err))
				continue
			}
		}
		canon, err := describe.CanonicalConfigValue(k.Type, text)
		if err != nil {
			if e.Secret != "" { // never echo a secret
				err = fmt.Errorf("the secret from %s is not a valid %s", e.Secret, k.Type)
			}
			problems = append(problems, fmt.Sprintf("key %s: %v", k.Name, err))
			continue
		}
		e.Value = canon
		entries = append(entries, e)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("config of plugin %s: %s", d.Name, strings.Join(problems, "; "))
	}
	return entries, nil
}

// valueText returns v as text of the key type typ, and where a secret
// came from.
func valueText(typ string, v ConfigValue, lookupEnv func(string) (string, bool)) (text, secret string, err error) {
	switch {
	case v.Env != "":
		secret = "env " + v.Env
		s, ok := lookupEnv(v.Env)
		if !ok {
			return "", secret, fmt.Errorf("environment variable %s is not set", v.Env)
		}
		return s, secret, nil
	case v.File != "":
		secret = "file " + v.File
		s, err := readSecret(v.File)
		return s, secret, err
	}
	switch x := v.Literal.(type) {
	case string:
		if typ == describe.ConfigString || typ == describe.ConfigDuration {
			return x, "", nil
		}
	case int64:
		if typ == describe.ConfigInt {
			return strconv.FormatInt(x, 10), "", nil
		}
	case bool:
		if typ == describe.ConfigBool {
			return strconv.FormatBool(x), "", nil
		}
	}
	return "", "", fmt.Errorf("want %s, not %s", typeWanted(typ), literalKind(v.Literal))
}

func typeWanted(typ string) string {
	switch typ {
	case describe.ConfigString:
		return "a string"
	case describe.ConfigInt:
		return "a whole number"
	case describe.ConfigBool:
		return "true or false"
	case describe.ConfigDuration:
		return `a duration string such as "15s"`
	}
	return typ
}

func literalKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "a whole number"
	case bool:
		return "a bool"
	case float64:
		return "a float"
	}
	return fmt.Sprintf("a %T", v)
}

// readSecret reads a secret file: at most describe.MaxConfigValueBytes,
// without one trailing line break.
func readSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, describe.MaxConfigValueBytes+3))
	if err != nil {
		return "", fmt.Errorf("secret file %s: %w", path, err)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if len(s) > describe.MaxConfigValueBytes {
		return "", fmt.Errorf("secret file %s: over %d bytes", path, describe.MaxConfigValueBytes)
	}
	return s, nil
}
