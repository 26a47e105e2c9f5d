package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/ffwasmhost/ffwasmhost/host/oneshot"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// diffFlag is --diff: unset, or the format of the changed rows.
type diffFlag struct{ format string }

func (f *diffFlag) String() string { return f.format }

func (f *diffFlag) Set(v string) error {
	if v != "table" && v != "json" {
		return fmt.Errorf("want table or json")
	}
	f.format = v
	return nil
}

// writeDiff prints d's rows in format: a table, one row per line, showing
// each row's key columns and the columns it changed; or one JSON object
// per row with its values by column name.
func writeDiff(w io.Writer, format string, d *oneshot.Diff) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		for _, r := range d.Rows {
			cols := d.Columns[r.Table]
			line := struct {
				Tick  int            `json:"tick"`
				Table string         `json:"table"`
				Op    string         `json:"op"`
				Old   map[string]any `json:"old,omitempty"`
				New   map[string]any `json:"new,omitempty"`
			}{r.Tick, r.Table, r.Op, byColumn(cols, r.Old), byColumn(cols, r.New)}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TICK\tTABLE\tOP\tROW")
	for _, r := range d.Rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.Tick, r.Table, r.Op, rowText(d.Columns[r.Table], r.RowChange))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if d.Omitted > 0 {
		_, err := fmt.Fprintf(w, "... and %d more changed rows (--max-diff-rows)\n", d.Omitted)
		return err
	}
	return nil
}

// columnName is column i's name, or its position when the table's columns
// are unknown.
func columnName(cols []store.Column, i int) string {
	if i < len(cols) {
		return cols[i].Name
	}
	return "#" + strconv.Itoa(i)
}

func byColumn(cols []store.Column, vals []any) map[string]any {
	if vals == nil {
		return nil
	}
	m := make(map[string]any, len(vals))
	for i, v := range vals {
		if b, ok := v.([]byte); ok && utf8.Valid(b) {
			v = string(b)
		}
		m[columnName(cols, i)] = v
	}
	return m
}

// rowText shows an inserted row's values, a deleted row's old values, and
// an updated row's key columns and changed columns (old→new).
func rowText(cols []store.Column, r store.RowChange) string {
	var parts []string
	switch r.Op {
	case store.OpInsert:
		for i, v := range r.New {
			parts = append(parts, columnName(cols, i)+"="+valueText(v))
		}
	case store.OpDelete:
		for i, v := range r.Old {
			parts = append(parts, columnName(cols, i)+"="+valueText(v))
		}
	default:
		for i := range min(len(r.Old), len(r.New)) {
			old, cur := valueText(r.Old[i]), valueText(r.New[i])
			switch {
			case old != cur:
				parts = append(parts, columnName(cols, i)+"="+old+"→"+cur)
			case i < len(cols) && cols[i].Key:
				parts = append(parts, columnName(cols, i)+"="+cur)
			}
		}
	}
	return strings.Join(parts, " ")
}

// valueText shows a column value on one line: NULL, a number, a string
// (quoted if it would not read back as one word) or a blob in hex.
func valueText(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return wordOrQuoted(v)
	case []byte:
		if utf8.Valid(v) {
			return wordOrQuoted(string(v))
		}
		return fmt.Sprintf("x'%x'", v)
	default:
		return fmt.Sprint(v)
	}
}

func wordOrQuoted(s string) string {
	if s == "" || s == "NULL" || strings.ContainsFunc(s, func(r rune) bool {
		return !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '"' || r == '=' || r == '→'
	}) {
		return strconv.Quote(s)
	}
	return s
}
