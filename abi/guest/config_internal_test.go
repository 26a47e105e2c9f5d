//go:build !wasip1

package guest

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// installConfig stands in for config_get with values, as the host answers
// (ABI.md section 4.7): a value that does not fit is kept for fetch.
func installConfig(tb testing.TB, values map[string]string) *[]string {
	tb.Helper()
	var calls []string
	var pending []byte
	saved := []any{inHost, hostConfigGet, hostFetch}
	inHost = true
	hostConfigGet = func(key unsafe.Pointer, keyLen uint32, out unsafe.Pointer, outCap uint32) uint64 {
		k := unsafe.String((*byte)(key), keyLen)
		calls = append(calls, "config_get "+k)
		v, ok := values[k]
		s := abi.StatusOK
		if !ok {
			s, v = abi.StatusInvalid, `config key "`+k+`" is not declared by the plugin`
		}
		if uint32(len(v)) > outCap {
			pending = []byte(v)
		} else {
			copy(unsafe.Slice((*byte)(out), outCap), v)
		}
		return abi.Pack(s, uint32(len(v)))
	}
	hostFetch = func(out unsafe.Pointer, outCap uint32) int32 {
		calls = append(calls, "fetch")
		if pending == nil || uint32(len(pending)) > outCap {
			return -1
		}
		n := copy(unsafe.Slice((*byte)(out), outCap), pending)
		pending = nil
		return int32(n)
	}
	tb.Cleanup(func() {
		inHost = saved[0].(bool)
		hostConfigGet = saved[1].(func(unsafe.Pointer, uint32, unsafe.Pointer, uint32) uint64)
		hostFetch = saved[2].(func(unsafe.Pointer, uint32) int32)
	})
	return &calls
}

func TestConfig(t *testing.T) {
	long := strings.Repeat("v", initialOut+1)
	calls := installConfig(t, map[string]string{"mode": "strict", "long": long, "batch": "500", "on": "true", "every": "90000"})
	db := NewConn()
	if v, err := db.Config("mode"); err != nil || v != "strict" {
		t.Errorf(`Config("mode") = %q, %v`, v, err)
	}
	if v, err := db.Config("long"); err != nil || v != long {
		t.Errorf(`Config("long") = %d bytes, %v`, len(v), err)
	}
	if n, err := db.ConfigInt("batch"); err != nil || n != 500 {
		t.Errorf(`ConfigInt("batch") = %d, %v`, n, err)
	}
	if b, err := db.ConfigBool("on"); err != nil || !b {
		t.Errorf(`ConfigBool("on") = %v, %v`, b, err)
	}
	if d, err := db.ConfigDuration("every"); err != nil || d != 90*time.Second {
		t.Errorf(`ConfigDuration("every") = %v, %v`, d, err)
	}
	if _, err := db.ConfigBool("batch"); StatusOf(err) != abi.StatusInvalid || !strings.Contains(err.Error(), "config key batch is not a bool") {
		t.Errorf(`ConfigBool("batch") = %v`, err)
	}
	if _, err := db.ConfigInt("mode"); StatusOf(err) != abi.StatusInvalid {
		t.Errorf(`ConfigInt("mode") = %v`, err)
	}
	_, err := db.Config("nope")
	var e *Error
	if !errors.As(err, &e) || e.Status != abi.StatusInvalid || e.Message != `config key "nope" is not declared by the plugin` {
		t.Errorf(`Config("nope") = %v`, err)
	}
	want := "config_get mode,config_get long,fetch,config_get batch,config_get on,config_get every,config_get batch,config_get mode,config_get nope"
	if got := strings.Join(*calls, ","); got != want {
		t.Errorf("host calls:\n got %s\nwant %s", got, want)
	}
}

func TestConfigNotInHost(t *testing.T) {
	if _, err := NewConn().Config("mode"); !errors.Is(err, ErrNotInHost) {
		t.Errorf("Config outside a host = %v, want ErrNotInHost", err)
	}
}
