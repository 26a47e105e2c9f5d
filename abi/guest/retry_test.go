package guest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

// setBackoff replaces guest.Backoff for one test and restores it after.
// Tests that use it must not run in parallel.
func setBackoff(tb testing.TB, waits ...time.Duration) {
	tb.Helper()
	saved := guest.Backoff
	guest.Backoff = waits
	tb.Cleanup(func() { guest.Backoff = saved })
}

func busy(msg string) error { return &guest.Error{Status: abi.StatusBusy, Message: msg} }

func TestDefaultBackoff(t *testing.T) {
	// FlowFabric's policy: three attempts in all, 5 ms then 10 ms apart.
	want := []time.Duration{5 * time.Millisecond, 10 * time.Millisecond}
	if !slices.Equal(guest.Backoff, want) {
		t.Errorf("Backoff = %v, want %v", guest.Backoff, want)
	}
}

func TestRetry(t *testing.T) {
	constraint := &guest.Error{Status: abi.StatusConstraint, Message: "UNIQUE constraint failed"}
	plain := errors.New("plain")
	tests := []struct {
		name     string
		results  []error // what each attempt returns; the last repeats
		attempts int
		want     error // nil: Retry must return nil
	}{
		{"success", []error{nil}, 1, nil},
		{"plain error", []error{plain}, 1, plain},
		{"constraint", []error{constraint}, 1, constraint},
		{"not authorized", []error{&guest.Error{Status: abi.StatusNotAuthorized}}, 1, nil},
		{"other", []error{&guest.Error{Status: abi.StatusOther}}, 1, nil},
		{"invalid", []error{&guest.Error{Status: abi.StatusInvalid}}, 1, nil},
		{"not in host", []error{guest.ErrNotInHost}, 1, guest.ErrNotInHost},
		{"always busy", []error{busy("1"), busy("2"), busy("3"), busy("4")}, 3, nil},
		{"wrapped busy", []error{fmt.Errorf("begin: %w", busy("x"))}, 3, nil},
		{"busy then success", []error{busy("1"), nil}, 2, nil},
		{"busy twice then success", []error{busy("1"), busy("2"), nil}, 3, nil},
		{"busy then constraint", []error{busy("1"), constraint}, 2, constraint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setBackoff(t, time.Nanosecond, time.Nanosecond)
			var attempts int
			err := guest.Retry(context.Background(), func() error {
				err := tt.results[min(attempts, len(tt.results)-1)]
				attempts++
				return err
			})
			if attempts != tt.attempts {
				t.Errorf("%d attempts, want %d", attempts, tt.attempts)
			}
			last := tt.results[min(attempts, len(tt.results))-1]
			if err != last {
				t.Errorf("Retry returned %v, want the last attempt's error %v", err, last)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Retry returned %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRetryFollowsBackoffLength(t *testing.T) {
	for _, n := range []int{0, 1, 4} {
		setBackoff(t, make([]time.Duration, n)...)
		var attempts int
		err := guest.Retry(context.Background(), func() error { attempts++; return busy("") })
		if attempts != n+1 || !guest.IsRetryable(err) {
			t.Errorf("with %d waits: %d attempts, err %v; want %d attempts and a busy error", n, attempts, err, n+1)
		}
	}
}

func TestRetryStopsWhenCanceled(t *testing.T) {
	// The waits are long so that the only way out of the first wait is the
	// cancellation; with waits that may already have elapsed, Retry could
	// as well see the timer first.
	setBackoff(t, time.Hour, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var attempts int
	err := guest.Retry(ctx, func() error {
		attempts++
		cancel()
		return busy("locked")
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Retry returned %v, want context.Canceled", err)
	}
	if attempts != 1 {
		t.Errorf("%d attempts, want 1", attempts)
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		want      abi.Status
		retryable bool
	}{
		{"nil", nil, abi.StatusOK, false},
		{"busy", busy("database is locked"), abi.StatusBusy, true},
		{"wrapped busy", fmt.Errorf("commit: %w", busy("x")), abi.StatusBusy, true},
		{"joined busy", errors.Join(errors.New("a"), busy("x")), abi.StatusBusy, true},
		{"constraint", &guest.Error{Status: abi.StatusConstraint}, abi.StatusConstraint, false},
		{"not authorized", &guest.Error{Status: abi.StatusNotAuthorized}, abi.StatusNotAuthorized, false},
		{"other", &guest.Error{Status: abi.StatusOther}, abi.StatusOther, false},
		{"invalid", &guest.Error{Status: abi.StatusInvalid}, abi.StatusInvalid, false},
		{"unknown status from a later minor", &guest.Error{Status: 9}, 9, false},
		{"plain error", errors.New("x"), abi.StatusOther, false},
		{"not in host", guest.ErrNotInHost, abi.StatusOther, false},
		{"canceled", context.Canceled, abi.StatusOther, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := guest.StatusOf(tt.err); got != tt.want {
				t.Errorf("StatusOf(%v) = %v, want %v", tt.err, got, tt.want)
			}
			if got := guest.IsRetryable(tt.err); got != tt.retryable {
				t.Errorf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.retryable)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	err := &guest.Error{Status: abi.StatusNotAuthorized, Message: "not authorized: insert t: table declared read-only"}
	want := "ffhost not_authorized: not authorized: insert t: table declared read-only"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
