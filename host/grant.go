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
// grant, naming every such table; nil if g covers d.
func CheckGrant(d describe.Descriptor, g Grant) error {
	var beyond []string
	for _, t := range d.Writes {
		if !slices.Contains(g.Write, t) && !slices.Contains(g.Own, t) && !slices.Contains(beyond, t+" (write)") {
			beyond = append(beyond, t+" (write)")
		}
	}
	for _, t := range d.Reads {
		if slices.Contains(d.Writes, t) {
			continue
		}
		if !slices.Contains(g.Read, t) && !slices.Contains(g.Write, t) && !slices.Contains(g.Own, t) &&
			!slices.Contains(beyond, t+" (read)") {
			beyond = append(beyond, t+" (read)")
		}
	}
	if len(beyond) > 0 {
		return &GrantError{Plugin: d.Name, Beyond: beyond}
	}
	return nil
}
