// Package replay writes down a failed tick so that it can be replayed: the
// plugin that failed (name, version, sha256, file), the tick's now_ms and
// partition, its error, and every row of the plugin's declared tables as
// they were before the tick. The daemon writes fixtures (opt-in),
// `ffwasmhost replay` runs one again on a scratch database, and
// host/plugintest restores one so that the failure becomes a unit test.
//
// A fixture is one JSON file. Values keep their SQLite type: integers are
// JSON numbers, text JSON strings, NULL null, a real {"real": x} and a blob
// {"blob": "<base64>"}.
//
// It imports only host/store, for the snapshot it reads rows from.
package replay

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// Format is the fixture format this package writes and reads.
const Format = 1

// Fixture is one failed tick.
type Fixture struct {
	Format    int    `json:"format"`
	Plugin    string `json:"plugin"`
	Version   string `json:"version"`
	SHA256    string `json:"sha256"`
	File      string `json:"file"` // the plugin file the daemon ran
	NowMS     int64  `json:"now_ms"`
	Partition int    `json:"partition"`
	Dialect   string `json:"dialect"`
	// Error is the tick's error, as the ledger and the log have it.
	Error  string    `json:"error"`
	Daemon string    `json:"daemon,omitempty"`
	At     time.Time `json:"at"`
	// Tables are the plugin's declared tables before the tick, by name.
	Tables []Table `json:"tables"`
}

// Table is one table's rows.
type Table struct {
	Name    string    `json:"name"`
	Columns []string  `json:"columns"`
	Rows    [][]Value `json:"rows"`
}

// Value is one column value, kept with its SQLite type.
type Value struct{ V any }

// MarshalJSON encodes v by its type (see the package documentation).
func (v Value) MarshalJSON() ([]byte, error) {
	switch x := v.V.(type) {
	case nil:
		return []byte("null"), nil
	case int64:
		return json.Marshal(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("real %v cannot be written", x)
		}
		return json.Marshal(map[string]float64{"real": x})
	case string:
		return json.Marshal(x)
	case []byte:
		return json.Marshal(map[string]string{"blob": base64.StdEncoding.EncodeToString(x)})
	case bool: // the driver's rendering of some expressions; SQLite has none
		if x {
			return []byte("1"), nil
		}
		return []byte("0"), nil
	case time.Time:
		return json.Marshal(x.Format(time.RFC3339Nano))
	}
	return nil, fmt.Errorf("value of type %T", v.V)
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (v *Value) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	switch x := raw.(type) {
	case nil:
		v.V = nil
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			return fmt.Errorf("integer %s: %w", x, err)
		}
		v.V = n
	case string:
		v.V = x
	case map[string]any:
		switch {
		case len(x) == 1 && x["real"] != nil:
			n, ok := x["real"].(json.Number)
			f, err := n.Float64()
			if !ok || err != nil {
				return fmt.Errorf("bad real %v", x["real"])
			}
			v.V = f
		case len(x) == 1 && x["blob"] != nil:
			s, ok := x["blob"].(string)
			b, err := base64.StdEncoding.DecodeString(s)
			if !ok || err != nil {
				return fmt.Errorf("bad blob %v", x["blob"])
			}
			v.V = b
		default:
			return fmt.Errorf("unknown value %s", b)
		}
	default:
		return fmt.Errorf("unknown value %s", b)
	}
	return nil
}

// Capture reads tables from snap into f.Tables, within maxBytes for all of
// them together. It fails wrapping store.ErrTooBig past the bound.
func (f *Fixture) Capture(ctx context.Context, snap store.Snapshot, tables []string, maxBytes int64) error {
	left := maxBytes
	for _, name := range tables {
		cols, rows, err := snap.Rows(ctx, name, left)
		if err != nil {
			return err
		}
		t := Table{Name: name, Columns: cols, Rows: make([][]Value, len(rows))}
		for i, r := range rows {
			t.Rows[i] = make([]Value, len(r))
			for j, v := range r {
				t.Rows[i][j] = Value{v}
				left -= store.ValueBytes(v)
			}
		}
		f.Tables = append(f.Tables, t)
	}
	return nil
}

// Name is the file name of f in a fixture directory:
// PLUGIN-NOWMS-pPARTITION.json.
func (f *Fixture) Name() string {
	return fmt.Sprintf("%s-%d-p%d.json", f.Plugin, f.NowMS, f.Partition)
}

// Write writes f into dir atomically (a temporary file renamed into place)
// and then removes the plugin's oldest fixtures beyond keep. It returns the
// file's path.
func Write(dir string, f *Fixture, keep int) (string, error) {
	f.Format = Format
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return "", fmt.Errorf("fixture %s: %w", f.Name(), err)
	}
	path := filepath.Join(dir, f.Name())
	tmp, err := os.CreateTemp(dir, ".fixture-*")
	if err != nil {
		return "", fmt.Errorf("fixture directory %s: %w", dir, err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("fixture %s: %w", path, err)
	}
	return path, prune(dir, f.Plugin, keep)
}

// prune removes plugin's fixtures in dir beyond the keep newest (by now_ms,
// then partition, as their names sort).
func prune(dir, plugin string, keep int) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("fixture directory %s: %w", dir, err)
	}
	type old struct {
		name      string
		now, part int64
	}
	var mine []old
	for _, e := range ents {
		var now, part int64
		rest, ok := strings.CutPrefix(e.Name(), plugin+"-")
		if !ok {
			continue
		}
		if n, _ := fmt.Sscanf(rest, "%d-p%d.json", &now, &part); n == 2 {
			mine = append(mine, old{e.Name(), now, part})
		}
	}
	slices.SortFunc(mine, func(a, b old) int {
		if a.now != b.now {
			return int(a.now - b.now)
		}
		return int(a.part - b.part)
	})
	var errs []error
	for len(mine) > keep {
		errs = append(errs, os.Remove(filepath.Join(dir, mine[0].name)))
		mine = mine[1:]
	}
	return errors.Join(errs...)
}

// identRE is what a table or column name in a fixture may be: the names
// are written into SQL by Restore, so nothing that needs quoting.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// Read reads and checks a fixture file.
func Read(path string) (*Fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fixture: %w", err)
	}
	var f Fixture
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("fixture %s: %w", path, err)
	}
	if f.Format != Format {
		return nil, fmt.Errorf("fixture %s: format %d, this ffwasmhost reads format %d", path, f.Format, Format)
	}
	if f.Plugin == "" {
		return nil, fmt.Errorf("fixture %s: no plugin", path)
	}
	for _, t := range f.Tables {
		if !identRE.MatchString(t.Name) {
			return nil, fmt.Errorf("fixture %s: table name %q is not a plain identifier", path, t.Name)
		}
		for _, c := range t.Columns {
			if !identRE.MatchString(c) {
				return nil, fmt.Errorf("fixture %s: table %s: column name %q is not a plain identifier", path, t.Name, c)
			}
		}
		for i, r := range t.Rows {
			if len(r) != len(t.Columns) {
				return nil, fmt.Errorf("fixture %s: table %s row %d has %d values for %d columns", path, t.Name, i+1, len(r), len(t.Columns))
			}
		}
	}
	return &f, nil
}

// Restore makes f's tables in db hold exactly f's rows: in one transaction,
// each table is emptied and its rows inserted. The tables must exist.
func (f *Fixture) Restore(ctx context.Context, db *sql.DB) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("restore fixture: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	for _, t := range f.Tables {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("DELETE FROM %q", t.Name)); err != nil {
			return fmt.Errorf("restore fixture: table %s: %w", t.Name, err)
		}
		if len(t.Rows) == 0 {
			continue
		}
		quoted := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			quoted[i] = fmt.Sprintf("%q", c)
		}
		ins, err := tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO %q (%s) VALUES (%s)", t.Name,
			strings.Join(quoted, ", "), strings.TrimSuffix(strings.Repeat("?, ", len(t.Columns)), ", ")))
		if err != nil {
			return fmt.Errorf("restore fixture: table %s: %w", t.Name, err)
		}
		args := make([]any, len(t.Columns))
		for i, r := range t.Rows {
			for j, v := range r {
				args[j] = v.V
			}
			if _, err := ins.ExecContext(ctx, args...); err != nil {
				ins.Close()
				return fmt.Errorf("restore fixture: table %s row %d: %w", t.Name, i+1, err)
			}
		}
		ins.Close()
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("restore fixture: %w", err)
	}
	return nil
}
