// Package describe is the plugin descriptor of the ffhost ABI: the JSON a
// plugin's describe export returns, its parsing and validation. It is the
// host's side; guests write the JSON themselves (see abi/guest), so that
// they do not link encoding/json.
package describe

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// Descriptor is what a plugin's describe export returns, as JSON.
type Descriptor struct {
	// Name identifies the plugin: lowercase letters, digits and '_', 1 to 64
	// characters, unique among the plugins a host runs.
	Name string `json:"name"`
	// ABIVersion is the ABI the plugin was built against, "major.minor".
	ABIVersion string `json:"abi_version"`
	// Version is the plugin's own version, free-form (semver advised): one
	// line of printable UTF-8, at most 128 bytes.
	Version string `json:"version"`
	// DefaultIntervalMS is the tick interval when the operator sets none;
	// 0 means the plugin is disabled unless an interval is configured.
	DefaultIntervalMS int64 `json:"default_interval_ms"`
	// Reads lists the tables the plugin may read and not write. Reads and
	// Writes hold at most 128 names together.
	Reads []string `json:"reads"`
	// Writes lists the tables the plugin may read, insert, update and delete.
	Writes []string `json:"writes"`
	// Description is one line of printable UTF-8 for operators, at most
	// 1024 bytes.
	Description string `json:"description"`
	// Dialects lists the SQL dialects the plugin can speak, "sqlite"
	// and/or "postgres" (ABI 1.4). Empty means SQLite only, as every
	// plugin before 1.4.
	Dialects []string `json:"dialects,omitempty"`
	// PartitionFamily, if set, makes the plugin partition-scoped (ABI
	// 1.4): on a partitioned database (PostgreSQL) the host ticks it once
	// per partition of the family ("budget", "worker_registry"), and
	// tick_partition says which; on SQLite it ticks partition 0 only.
	PartitionFamily string `json:"partition_family,omitempty"`
}

// maxDialects bounds Dialects: each dialect once.
const maxDialects = 2

// Supports reports whether the plugin speaks dialect ("sqlite" or
// "postgres"). A plugin that lists none speaks SQLite only.
func (d Descriptor) Supports(dialect string) bool {
	if len(d.Dialects) == 0 {
		return dialect == abi.DialectNameSQLite
	}
	for _, x := range d.Dialects {
		if x == dialect {
			return true
		}
	}
	return false
}

// DialectList is the dialects the plugin speaks, for messages:
// "sqlite", "sqlite, postgres".
func (d Descriptor) DialectList() string {
	if len(d.Dialects) == 0 {
		return abi.DialectNameSQLite
	}
	return strings.Join(d.Dialects, ", ")
}

var (
	nameRE  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	tableRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

// ValidName reports whether name can be a plugin's name: a lowercase
// letter, then up to 63 lowercase letters, digits or '_'.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// MaxSize bounds the JSON a host accepts from describe.
const MaxSize = 64 << 10

// MaxIntervalMS is the longest default_interval_ms a plugin may declare:
// 365 days. Anything longer is more likely a unit mistake than a plan, and
// it keeps every interval well inside a time.Duration.
const MaxIntervalMS = 365 * 24 * 3600 * 1000

// Field bounds. They keep the JSON encoding of any valid Descriptor, even
// with every character escaped, well under MaxSize.
const (
	maxVersionLen     = 128  // bytes of Version
	maxDescriptionLen = 1024 // bytes of Description
	maxTables         = 128  // entries of Reads and Writes together
	maxVersionDigits  = 9    // digits of each part of an ABI version
)

// Parse decodes and validates describe's JSON. Unknown fields are
// ignored so that a minor ABI version may add some.
func Parse(b []byte) (Descriptor, error) {
	var d Descriptor
	if len(b) > MaxSize {
		return d, fmt.Errorf("describe: %d bytes, limit %d", len(b), MaxSize)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("describe: bad JSON: %w", err)
	}
	return d, d.Validate()
}

// ErrABIMismatch is wrapped by Validate when the plugin's ABI major is not
// abi.Major.
var ErrABIMismatch = errors.New("ABI version mismatch")

// Validate checks every field and returns the first problem found.
func (d Descriptor) Validate() error {
	if !nameRE.MatchString(d.Name) {
		return fmt.Errorf("describe: name %q must match %s", d.Name, nameRE)
	}
	major, _, err := ParseVersion(d.ABIVersion)
	if err != nil {
		return fmt.Errorf("describe: abi_version: %w", err)
	}
	if major != abi.Major {
		return fmt.Errorf("describe: plugin speaks ABI %s, host speaks ABI %s: %w", d.ABIVersion, abi.Version, ErrABIMismatch)
	}
	if err := checkLine("version", d.Version, maxVersionLen); err != nil {
		return err
	}
	if d.DefaultIntervalMS < 0 {
		return fmt.Errorf("describe: default_interval_ms %d is negative", d.DefaultIntervalMS)
	}
	if d.DefaultIntervalMS > MaxIntervalMS {
		return fmt.Errorf("describe: default_interval_ms %d is over the limit of %d (365 days)", d.DefaultIntervalMS, MaxIntervalMS)
	}
	if n := len(d.Reads) + len(d.Writes); n > maxTables {
		return fmt.Errorf("describe: %d tables declared, limit %d", n, maxTables)
	}
	for _, t := range append(append([]string{}, d.Reads...), d.Writes...) {
		if !tableRE.MatchString(t) {
			return fmt.Errorf("describe: table name %q is not a plain identifier", t)
		}
		if strings.HasPrefix(strings.ToLower(t), "sqlite_") {
			return fmt.Errorf("describe: table %q is internal to SQLite and cannot be declared", t)
		}
		if strings.HasPrefix(strings.ToLower(t), "ffwasmhost_") {
			return fmt.Errorf("describe: table %q belongs to the host and cannot be declared", t)
		}
	}
	if err := checkLine("description", d.Description, maxDescriptionLen); err != nil {
		return err
	}
	if len(d.Dialects) > maxDialects {
		return fmt.Errorf("describe: %d dialects listed, want at most %d (sqlite, postgres)", len(d.Dialects), maxDialects)
	}
	for i, x := range d.Dialects {
		if x != abi.DialectNameSQLite && x != abi.DialectNamePostgres {
			return fmt.Errorf("describe: dialect %q: want sqlite or postgres", x)
		}
		if i > 0 && d.Dialects[0] == x {
			return fmt.Errorf("describe: dialect %q listed twice", x)
		}
	}
	if d.PartitionFamily != "" && !nameRE.MatchString(d.PartitionFamily) {
		return fmt.Errorf("describe: partition_family %q must match %s", d.PartitionFamily, nameRE)
	}
	return nil
}

// checkLine requires s to be at most max bytes of valid UTF-8 on one line:
// no control characters and no Unicode line or paragraph separators.
func checkLine(field, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("describe: %s is %d bytes, limit %d", field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("describe: %s is not valid UTF-8", field)
	}
	if i := strings.IndexFunc(s, breaksLine); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Errorf("describe: %s must be one line of printable text (%U at byte %d)", field, r, i)
	}
	return nil
}

// breaksLine reports a control character or a Unicode line or paragraph
// separator.
func breaksLine(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }

// ParseVersion parses "major.minor": two unsigned decimal numbers of at
// most 9 digits each, without sign or spaces.
func ParseVersion(v string) (major, minor int, err error) {
	a, b, ok := strings.Cut(v, ".")
	if ok {
		major, ok = parseVersionPart(a)
	}
	if ok {
		minor, ok = parseVersionPart(b)
	}
	if !ok {
		return 0, 0, fmt.Errorf("version %q is not major.minor", v)
	}
	return major, minor, nil
}

func parseVersionPart(s string) (int, bool) {
	if s == "" || len(s) > maxVersionDigits || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// Tables returns the declared tables, writes first, without duplicates.
func (d Descriptor) Tables() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range append(append([]string{}, d.Writes...), d.Reads...) {
		if k := strings.ToLower(t); !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out
}
