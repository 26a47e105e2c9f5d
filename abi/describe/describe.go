// Package describe is the plugin descriptor of the ffhost ABI: the JSON a
// plugin's describe export returns, its parsing and validation. It is the
// host's side; guests write the JSON themselves (see abi/guest), so that
// they do not link encoding/json.
package describe

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
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
	// Owns lists the tables the plugin owns (ABI 1.2): it may read and
	// write them, and its migrations may create and alter them. An owned
	// table is in neither Reads nor Writes, and its name starts with
	// neither "ff_" nor "ffwasmhost_".
	Owns []string `json:"owns"`
	// Migrations are the plugin's schema steps for its owned tables, by
	// dialect ("sqlite", "postgres"), each list ordered by ID (ABI 1.2).
	Migrations map[string][]Migration `json:"migrations"`
}

// Migration is one numbered schema step of a plugin's owned tables. A
// host applies it once, in a transaction of its own, and records its
// checksum; a step once applied must never change.
type Migration struct {
	// ID numbers the step: 1 for the first, then each one more.
	ID int64 `json:"id"`
	// Name is one line of printable UTF-8, 1 to 128 bytes.
	Name string `json:"name"`
	// SQL is the step's statements, at most 16 KiB.
	SQL string `json:"sql"`
}

// Migration dialects, the keys of Descriptor.Migrations.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

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

// Field bounds. They keep the JSON encoding of any valid Descriptor
// without migrations, even with every character escaped, well under
// MaxSize; migrations count against MaxSize as they come.
const (
	maxVersionLen     = 128  // bytes of Version
	maxDescriptionLen = 1024 // bytes of Description
	maxTables         = 128  // entries of Reads and Writes together
	maxVersionDigits  = 9    // digits of each part of an ABI version
	maxMigrations     = 64   // migrations of one dialect
	maxMigrationName  = 128  // bytes of a migration's name
	// MaxMigrationSQL bounds the SQL of one migration, in bytes.
	MaxMigrationSQL = 16 << 10
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
	if n := len(d.Reads) + len(d.Writes) + len(d.Owns); n > maxTables {
		return fmt.Errorf("describe: %d tables declared, limit %d", n, maxTables)
	}
	for _, t := range slices.Concat(d.Reads, d.Writes, d.Owns) {
		if err := checkTable(t); err != nil {
			return err
		}
	}
	if err := checkLine("description", d.Description, maxDescriptionLen); err != nil {
		return err
	}
	return d.validateOwned()
}

func checkTable(t string) error {
	if !tableRE.MatchString(t) {
		return fmt.Errorf("describe: table name %q is not a plain identifier", t)
	}
	if strings.HasPrefix(strings.ToLower(t), "sqlite_") {
		return fmt.Errorf("describe: table %q is internal to SQLite and cannot be declared", t)
	}
	if strings.HasPrefix(strings.ToLower(t), "ffwasmhost_") {
		return fmt.Errorf("describe: table %q belongs to the host and cannot be declared", t)
	}
	return nil
}

// validateOwned checks Owns and Migrations (ABI 1.2).
func (d Descriptor) validateOwned() error {
	declared := map[string]string{}
	for _, t := range d.Reads {
		declared[strings.ToLower(t)] = "reads"
	}
	for _, t := range d.Writes {
		declared[strings.ToLower(t)] = "writes"
	}
	owned := map[string]bool{}
	for _, t := range d.Owns {
		k := strings.ToLower(t)
		switch {
		case strings.HasPrefix(k, "ff_"):
			return fmt.Errorf("describe: owns %q: tables starting with ff_ belong to FlowFabric and cannot be owned", t)
		case declared[k] != "":
			return fmt.Errorf("describe: owns %q: also declared in %s; an owned table is read and written already", t, declared[k])
		case owned[k]:
			return fmt.Errorf("describe: owns %q twice", t)
		}
		owned[k] = true
	}
	if len(d.Migrations) > 0 && len(d.Owns) == 0 {
		return fmt.Errorf("describe: migrations declared but no owned tables; migrations may only change owned tables")
	}
	for _, dialect := range slices.Sorted(maps.Keys(d.Migrations)) {
		if dialect != DialectSQLite && dialect != DialectPostgres {
			return fmt.Errorf("describe: migrations for dialect %q: want %q or %q", dialect, DialectSQLite, DialectPostgres)
		}
		ms := d.Migrations[dialect]
		if len(ms) > maxMigrations {
			return fmt.Errorf("describe: %d %s migrations, limit %d", len(ms), dialect, maxMigrations)
		}
		for i, m := range ms {
			if m.ID != int64(i+1) {
				return fmt.Errorf("describe: %s migration %d has id %d: ids must be 1, 2, 3... in order", dialect, i+1, m.ID)
			}
			if m.Name == "" {
				return fmt.Errorf("describe: %s migration %d has no name", dialect, m.ID)
			}
			if err := checkLine(fmt.Sprintf("%s migration %d name", dialect, m.ID), m.Name, maxMigrationName); err != nil {
				return err
			}
			if strings.TrimSpace(m.SQL) == "" {
				return fmt.Errorf("describe: %s migration %d (%s) has no SQL", dialect, m.ID, m.Name)
			}
			if len(m.SQL) > MaxMigrationSQL {
				return fmt.Errorf("describe: %s migration %d (%s) is %d bytes of SQL, limit %d", dialect, m.ID, m.Name, len(m.SQL), MaxMigrationSQL)
			}
			if !utf8.ValidString(m.SQL) || strings.ContainsRune(m.SQL, 0) {
				return fmt.Errorf("describe: %s migration %d (%s): SQL must be valid UTF-8 without NUL", dialect, m.ID, m.Name)
			}
		}
	}
	return nil
}

// WriteTables returns the tables the plugin may write: Writes, then Owns.
func (d Descriptor) WriteTables() []string { return slices.Concat(d.Writes, d.Owns) }

// Owned reports whether the plugin owns table, compared case-insensitively.
func (d Descriptor) Owned(table string) bool {
	return slices.ContainsFunc(d.Owns, func(t string) bool { return strings.EqualFold(t, table) })
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

// Tables returns the declared tables, owned and writes first, without
// duplicates.
func (d Descriptor) Tables() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range slices.Concat(d.Owns, d.Writes, d.Reads) {
		if k := strings.ToLower(t); !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out
}
