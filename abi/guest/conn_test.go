//go:build !wasip1

package guest_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

// TestConnOutsideHost: outside a wasm instance run by ffwasmhost, every
// call that would reach the host fails with ErrNotInHost.
func TestConnOutsideHost(t *testing.T) {
	ctx := context.Background()
	c := guest.NewConn()
	tests := []struct {
		name string
		call func() error
	}{
		{"Exec", func() error { _, err := c.Exec("UPDATE t SET v = 1"); return err }},
		{"Exec with arguments", func() error {
			_, err := c.Exec("UPDATE t SET v = ? WHERE id = ? AND b = ? AND f = ?", 1.5, "x", []byte(nil), true)
			return err
		}},
		{"Query", func() error { _, err := c.Query("SELECT v FROM t WHERE id = ?", 7); return err }},
		{"QueryRow", func() error { var v int64; return c.QueryRow("SELECT 1").Scan(&v) }},
		{"Begin", c.Begin},
		{"WithTx", func() error {
			return guest.WithTx(ctx, c, func() error { return errors.New("fn must not run") })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, guest.ErrNotInHost) {
				t.Errorf("err = %v, want ErrNotInHost", err)
			}
		})
	}
}

func TestConnRefusesBadArguments(t *testing.T) {
	_, err := guest.NewConn().Exec("SELECT ?, ?", 1, struct{}{})
	if err == nil || !strings.Contains(err.Error(), "argument 2") {
		t.Fatalf("Exec with a struct argument: %v, want an error naming argument 2", err)
	}
	if _, err := guest.NewConn().Exec("SELECT ?", uint64(math.MaxUint64)); err == nil {
		t.Fatal("Exec with MaxUint64 succeeded, want an overflow error")
	}
}

func TestScan(t *testing.T) {
	var (
		i64 int64
		i   int
		b   bool
		f   float64
		s   string
		bs  []byte
		a   any
		ni  guest.NullInt64
		ns  guest.NullString
		nf  guest.NullFloat64
	)
	tests := []struct {
		name    string
		v, dest any
		check   func() bool
		wantErr string
	}{
		{"int64", int64(-7), &i64, func() bool { return i64 == -7 }, ""},
		{"int", int64(42), &i, func() bool { return i == 42 }, ""},
		{"integer text into int64", "12", &i64, func() bool { return i64 == 12 }, ""},
		{"bool true", int64(1), &b, func() bool { return b }, ""},
		{"bool false", int64(0), &b, func() bool { return !b }, ""},
		{"float", 1.5, &f, func() bool { return f == 1.5 }, ""},
		{"int into float", int64(3), &f, func() bool { return f == 3 }, ""},
		{"text", "hé", &s, func() bool { return s == "hé" }, ""},
		{"int into text", int64(5), &s, func() bool { return s == "5" }, ""},
		{"blob into text", []byte("x"), &s, func() bool { return s == "x" }, ""},
		{"blob is copied", []byte("ab"), &bs, func() bool { return string(bs) == "ab" }, ""},
		{"NULL into []byte", nil, &bs, func() bool { return bs == nil }, ""},
		{"any", 2.5, &a, func() bool { return a == 2.5 }, ""},
		{"NullInt64 valid", int64(9), &ni, func() bool { return ni == guest.NullInt64{Int64: 9, Valid: true} }, ""},
		{"NullInt64 NULL", nil, &ni, func() bool { return ni == guest.NullInt64{} }, ""},
		{"NullString NULL", nil, &ns, func() bool { return ns == guest.NullString{} }, ""},
		{"NullFloat64 valid", 0.5, &nf, func() bool { return nf == guest.NullFloat64{Float64: 0.5, Valid: true} }, ""},
		{"NULL into int64", nil, &i64, nil, "cannot store NULL in *int64"},
		{"REAL into int64", 1.5, &i64, nil, "cannot store REAL in an integer"},
		{"bad text into int64", "x1", &i64, nil, `cannot store TEXT "x1" in an integer`},
		{"bad text into float", "x", &f, nil, `cannot store TEXT "x" in *float64`},
		{"unsupported destination", int64(1), new(int8), nil, "unsupported destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := guest.Scan(tt.v, tt.dest)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Scan(%v) = %v, want an error containing %q", tt.v, err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check() {
				t.Fatalf("Scan(%v) = %v; destination holds the wrong value", tt.v, err)
			}
		})
	}
}

func TestScanBlobDoesNotAlias(t *testing.T) {
	src := []byte("abc")
	var dst []byte
	if err := guest.Scan(src, &dst); err != nil {
		t.Fatal(err)
	}
	src[0] = 'X'
	if string(dst) != "abc" {
		t.Fatalf("the scanned blob changed with its source: %q", dst)
	}
}

func TestWrap(t *testing.T) {
	base := &guest.Error{Status: 2, Message: "database is locked"}
	err := guest.Wrap("reset budget b1", base)
	if got, want := err.Error(), "reset budget b1: "+base.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, base) || guest.StatusOf(err) != base.Status {
		t.Error("Wrap hides the wrapped error from errors.Is or StatusOf")
	}
}
