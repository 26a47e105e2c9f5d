package config

import (
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// keyLines maps each dotted key written in data (table headers and keys,
// with their table's prefix) to the line it is written on. data has
// decoded already, so a parse error here only ends the map early.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		n := p.Expression()
		switch n.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = keyParts(n.Key())
			k := strings.Join(table, ".")
			if _, ok := lines[k]; !ok {
				lines[k] = lineOf(&p, n.Key())
			}
		case unstable.KeyValue:
			it := n.Key()
			line := lineOf(&p, n.Key())
			parts := append(append([]string{}, table...), keyParts(it)...)
			for i := len(table) + 1; i <= len(parts); i++ {
				k := strings.Join(parts[:i], ".")
				if _, ok := lines[k]; !ok {
					lines[k] = line
				}
			}
		}
	}
	return lines
}

func keyParts(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

// lineOf returns the line of the first part of a key.
func lineOf(p *unstable.Parser, it unstable.Iterator) int {
	if !it.Next() {
		return 0
	}
	return p.Shape(it.Node().Raw).Start.Line
}
