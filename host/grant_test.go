package host_test

import (
	"errors"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host"
)

func TestCheckGrant(t *testing.T) {
	d := describe.Descriptor{Name: "budget_reset", Reads: []string{"ff_budget_policy", "ff_budget_usage"},
		Writes: []string{"ff_budget_usage"}}
	tests := []struct {
		name  string
		grant host.Grant
		want  string // "" if granted
	}{
		{"exact", host.Grant{Read: []string{"ff_budget_policy"}, Write: []string{"ff_budget_usage"}}, ""},
		{"own covers write", host.Grant{Read: []string{"ff_budget_policy"}, Own: []string{"ff_budget_usage"}}, ""},
		{"write covers read", host.Grant{Write: []string{"ff_budget_policy", "ff_budget_usage"}}, ""},
		{"read is not write", host.Grant{Read: []string{"ff_budget_policy", "ff_budget_usage"}},
			"plugin budget_reset declares tables beyond its grant: ff_budget_usage (write)"},
		{"policy only", host.Grant{Read: []string{"ff_budget_policy"}},
			"plugin budget_reset declares tables beyond its grant: ff_budget_usage (write)"},
		{"nothing", host.Grant{},
			"plugin budget_reset declares tables beyond its grant: ff_budget_usage (write), ff_budget_policy (read)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := host.CheckGrant(d, tt.grant)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckGrant: %v", err)
				}
				return
			}
			var ge *host.GrantError
			if !errors.As(err, &ge) || err.Error() != tt.want {
				t.Fatalf("CheckGrant = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCheckGrantOwned(t *testing.T) {
	d := describe.Descriptor{Name: "stale_leases", Reads: []string{"ff_worker_registry"}, Owns: []string{"leases"}}
	tests := []struct {
		name  string
		grant host.Grant
		want  string // "" if granted
	}{
		{"own granted", host.Grant{Read: []string{"ff_worker_registry"}, Own: []string{"leases"}}, ""},
		{"case-insensitive", host.Grant{Read: []string{"FF_Worker_Registry"}, Own: []string{"LEASES"}}, ""},
		{"write is not own", host.Grant{Read: []string{"ff_worker_registry"}, Write: []string{"leases"}},
			"plugin stale_leases declares tables beyond its grant: leases (own)"},
		{"nothing", host.Grant{},
			"plugin stale_leases declares tables beyond its grant: leases (own), ff_worker_registry (read)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := host.CheckGrant(d, tt.grant)
			if got := errString(err); got != tt.want {
				t.Fatalf("CheckGrant = %q, want %q", got, tt.want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
