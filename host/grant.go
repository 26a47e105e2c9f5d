package host

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
)

// Grant is what an operator lets one plugin use, by table name: the tables
// it may read, write, and own (create and migrate). A grant to write a table
// includes reading it; a grant to own one includes reading and writing it.
// Without a grant, a plugin may use what its descriptor declares.
type Grant struct {
	Read, Write, Own []string
}

// GrantError is returned by CheckGrant: a plugin declares tables beyond its
// grant.
type GrantError struct {
	// Plugin is the plugin's name.
	Plugin string
	// Beyond lists each table beyond the grant with the access declared,
	// e.g. "ff_budget_usage (write)", in the descriptor's order.
	Beyond []string
}

func (e *GrantError) Error() string {
	return fmt.Sprintf("plugin %s declares tables beyond its grant: %s", e.Plugin, strings.Join(e.Beyond, ", "))
}

// CheckGrant returns a *GrantError if d declares a table that g does not
// grant, naming every such table; nil if g covers d. Table names compare
// case-insensitively, as SQL compares them.
func CheckGrant(d describe.Descriptor, g Grant) error {
	var beyond []string
	add := func(t, access string) {
		if e := t + " (" + access + ")"; !slices.Contains(beyond, e) {
			beyond = append(beyond, e)
		}
	}
	for _, t := range d.Owns {
		if !hasTable(g.Own, t) {
			add(t, "own")
		}
	}
	for _, t := range d.Writes {
		if !hasTable(g.Write, t) && !hasTable(g.Own, t) {
			add(t, "write")
		}
	}
	for _, t := range d.Reads {
		if hasTable(d.Writes, t) {
			continue
		}
		if !hasTable(g.Read, t) && !hasTable(g.Write, t) && !hasTable(g.Own, t) {
			add(t, "read")
		}
	}
	if len(beyond) > 0 {
		return &GrantError{Plugin: d.Name, Beyond: beyond}
	}
	return nil
}

// hasTable reports whether list holds table, compared case-insensitively.
func hasTable(list []string, table string) bool {
	return slices.ContainsFunc(list, func(t string) bool { return strings.EqualFold(t, table) })
}
