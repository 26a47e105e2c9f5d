//go:build !wasip1

package guest

import (
	"context"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// fakeTxHost stands in for the host's transaction calls: each call is
// recorded, and commit answers with the next status in commits (then ok).
type fakeTxHost struct {
	calls   []string
	commits []abi.Status
	open    bool // the host's view: a transaction is open
}

// install makes f the host for the test's duration.
func (f *fakeTxHost) install(tb testing.TB) {
	tb.Helper()
	saved := []any{inHost, hostBegin, hostCommit, hostRollback, Backoff}
	inHost = true
	Backoff = []time.Duration{time.Nanosecond, time.Nanosecond}
	hostBegin = func(unsafe.Pointer, uint32) uint64 {
		f.calls = append(f.calls, "begin")
		if f.open {
			return abi.Pack(abi.StatusInvalid, 0)
		}
		f.open = true
		return abi.Pack(abi.StatusOK, 0)
	}
	hostCommit = func(unsafe.Pointer, uint32) uint64 {
		f.calls = append(f.calls, "commit")
		s := abi.StatusOK
		if len(f.commits) > 0 {
			s, f.commits = f.commits[0], f.commits[1:]
		}
		if s == abi.StatusOK {
			f.open = false
		}
		return abi.Pack(s, 0)
	}
	hostRollback = func(unsafe.Pointer, uint32) uint64 {
		f.calls = append(f.calls, "rollback")
		f.open = false
		return abi.Pack(abi.StatusOK, 0)
	}
	tb.Cleanup(func() {
		inHost = saved[0].(bool)
		hostBegin = saved[1].(func(unsafe.Pointer, uint32) uint64)
		hostCommit = saved[2].(func(unsafe.Pointer, uint32) uint64)
		hostRollback = saved[3].(func(unsafe.Pointer, uint32) uint64)
		Backoff = saved[4].([]time.Duration)
	})
}

// TestFailedCommitLeavesTheTransactionOpen: as ABI.md says, a failed
// tx_commit leaves the transaction for the guest to roll back, and the SDK
// knows it is still open.
func TestFailedCommitLeavesTheTransactionOpen(t *testing.T) {
	f := &fakeTxHost{commits: []abi.Status{abi.StatusBusy}}
	f.install(t)
	c := NewConn()
	if err := c.Begin(); err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(); StatusOf(err) != abi.StatusBusy {
		t.Fatalf("Commit = %v, want busy", err)
	}
	if !c.InTx() {
		t.Error("InTx is false after a failed commit; the host's transaction is still open")
	}
	if err := c.Rollback(); err != nil || c.InTx() {
		t.Errorf("Rollback = %v, InTx %v", err, c.InTx())
	}
}

// TestWithTxRollsBackAFailedCommit: a busy commit is rolled back, so the
// retry's Begin finds no transaction open and succeeds.
func TestWithTxRollsBackAFailedCommit(t *testing.T) {
	tests := []struct {
		name    string
		commits []abi.Status
		want    []string
		status  abi.Status
	}{
		{"busy once", []abi.Status{abi.StatusBusy},
			[]string{"begin", "commit", "rollback", "begin", "commit"}, abi.StatusOK},
		{"busy always", []abi.Status{abi.StatusBusy, abi.StatusBusy, abi.StatusBusy},
			[]string{"begin", "commit", "rollback", "begin", "commit", "rollback", "begin", "commit", "rollback"}, abi.StatusBusy},
		{"constraint", []abi.Status{abi.StatusConstraint},
			[]string{"begin", "commit", "rollback"}, abi.StatusConstraint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeTxHost{commits: tt.commits}
			f.install(t)
			c := NewConn()
			err := WithTx(context.Background(), c, func() error { return nil })
			if StatusOf(err) != tt.status {
				t.Errorf("WithTx = %v, want status %v", err, tt.status)
			}
			if !slices.Equal(f.calls, tt.want) {
				t.Errorf("host calls %v, want %v", f.calls, tt.want)
			}
			if f.open || c.InTx() {
				t.Errorf("transaction left open: host %v, SDK %v", f.open, c.InTx())
			}
		})
	}
}
