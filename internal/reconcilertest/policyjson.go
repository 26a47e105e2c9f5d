package reconcilertest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/internal/policyjson"
)

// budgetResetIntervalAsPolicyJSON: every build reads reset_interval_ms as
// internal/policyjson does (which its own fuzz test holds to
// encoding/json). Each policy_json below is one due budget; one tick pass
// resets them all, and each next_reset_at_ms must be now plus the
// interval policyjson.ResetInterval reads, saturated, or NULL.
func budgetResetIntervalAsPolicyJSON(t *testing.T, wasm string) {
	const now = 7_000_000
	h := newHarness(t, wasm)
	cases := policyJSONCases()
	ids := make([]string, len(cases))
	var ps []policy
	for i, js := range cases {
		ids[i] = fmt.Sprintf("p%04d", i)
		ps = append(ps, budget(ids[i], at(now-1), js))
	}
	seedBudgets(t, h, ps, nil)
	var total host.Report
	for total.Processed < int64(len(cases)) {
		rep := h.MustTick(now)
		if rep.Processed == 0 || rep.Errors != 0 {
			t.Fatalf("after %d of %d budgets, a tick reported %+v", total.Processed, len(cases), rep)
		}
		total.Processed += rep.Processed
	}
	got := map[string]policy{}
	for _, p := range policies(t, h) {
		got[p.ID] = p
	}
	for i, js := range cases {
		want := null
		if iv := policyjson.ResetInterval(js); iv > 0 {
			want = at(now + iv)
			if now+iv < now {
				want = at(math.MaxInt64)
			}
		}
		if p := got[ids[i]]; p.NextResetAt != want || p.JSON != js {
			t.Errorf("policy_json %s: next_reset_at_ms %v, want %v (policy_json read back intact: %t)",
				short(js), p.NextResetAt, want, p.JSON == js)
		}
	}
}

// short quotes s, cut to its first 100 bytes when it is longer.
func short(s string) string {
	if len(s) <= 100 {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:100]) + "...(" + strconv.Itoa(len(s)) + " bytes)"
}

// policyJSONCases are the policy_json texts budgetResetIntervalAsPolicyJSON
// tries: internal/policyjson's own cases and fuzz seeds, edges of numbers,
// strings, escapes, nesting and UTF-8, and random ones from a fixed seed.
func policyJSONCases() []string {
	cases := []string{
		// internal/policyjson's TestResetInterval.
		`{"reset_interval_ms":60000}`, `{"reset_interval_ms":1}`,
		`{ "limits": {"tokens": 5}, "reset_interval_ms" : 86400000 }`,
		`{"reset_interval_ms":9223372036854775807}`, `{"reset_interval_ms":0}`,
		`{"reset_interval_ms":-0}`, `{"reset_interval_ms":-5}`,
		`{"reset_interval_ms":9223372036854775808}`, `{"reset_interval_ms":1.5}`,
		`{"reset_interval_ms":1000.0}`, `{"reset_interval_ms":1e3}`,
		`{"reset_interval_ms":"1000"}`, `{"reset_interval_ms":null}`,
		`{"reset_interval_ms":true}`, `{"reset_interval_ms":[1000]}`,
		`{"reset_interval_ms":{"ms":1000}}`, `{"other":1000}`,
		`{"limits":{"reset_interval_ms":1000}}`, `{}`, `null`,
		`[{"reset_interval_ms":1000}]`, `1000`, `"1000"`,
		`{"reset_interval_ms":1000`, `{"reset_interval_ms":1000}}`,
		`{reset_interval_ms:1000}`, ``,
		// Its FuzzResetInterval seeds.
		`{"reset_interval_ms":1,"reset_interval_ms":2}`, `{"reset\u005finterval_ms":7}`,
		`{"a":[1,{"b":"\ud83d\ude00"}],"reset_interval_ms":-0}`, `{"reset_interval_ms":01}`,
		`{"reset_interval_ms":1}x`, "{\"x\":\"\xff\",\"reset_interval_ms\":5}",
		`{"x":"\ud800","reset_interval_ms":5}`, ` {"reset_interval_ms" : 5 } `,
		`{"reset_interval_ms":5,}`, `[]`, `{"\t":1}`,
		// Numbers.
		`{"reset_interval_ms":-9223372036854775808}`, `{"reset_interval_ms":-9223372036854775809}`,
		`{"reset_interval_ms":99999999999999999999}`, `{"reset_interval_ms":+5}`,
		`{"reset_interval_ms":-}`, `{"reset_interval_ms":1.}`, `{"reset_interval_ms":.5}`,
		`{"reset_interval_ms":1e}`, `{"reset_interval_ms":1E+2}`, `{"reset_interval_ms":0x10}`,
		`{"reset_interval_ms":00}`, `{"reset_interval_ms":-01}`, `{"reset_interval_ms":1_000}`,
		`{"reset_interval_ms":3600000}`, `{"reset_interval_ms":9223372036854775806}`,
		// Keys: duplicates, escapes, near misses, case.
		`{"reset_interval_ms":5,"reset_interval_ms":"x"}`, `{"reset_interval_ms":"x","reset_interval_ms":6}`,
		`{"reset_interval_ms":5,"reset_interval_ms":-1}`, `{"\u0072eset_interval_ms":8}`,
		`{"reset_interval_ms\u0000":8}`, `{"Reset_interval_ms":8}`, `{"reset_interval_m":8}`,
		`{"reset_interval_mss":8}`, `{" reset_interval_ms":8}`, `{"reset\/interval_ms":8}`,
		`{"reset_interval_ms" :8 , "a" : [ ] }`, "{\"reset_interval_ms\":8,\"k\xc3\":1}",
		"{\"reset_interval_ms\xff\":8}", `{"reset_interval_ms":8,"\uDC00":1}`,
		// Strings and escapes elsewhere.
		`{"a":"\"","reset_interval_ms":9}`, `{"a":"\\","reset_interval_ms":9}`,
		`{"a":"\q","reset_interval_ms":9}`, `{"a":"\u12","reset_interval_ms":9}`,
		`{"a":"\u12G4","reset_interval_ms":9}`, `{"a":"\ud800\u0041","reset_interval_ms":9}`,
		`{"a":"\ud800\uZZZZ","reset_interval_ms":9}`, "{\"a\":\"\t\",\"reset_interval_ms\":9}",
		"{\"a\":\"\x7f\",\"reset_interval_ms\":9}", "{\"a\":\"\xed\xa0\x80\",\"reset_interval_ms\":9}",
		"{\"a\":\"x\x00y\",\"reset_interval_ms\":9}", "{\"reset_interval_ms\":9}\x00",
		`{"a":"unterminated,"reset_interval_ms":9}`,
		// Literals and structure.
		`{"a":true,"b":false,"c":null,"reset_interval_ms":10}`, `{"a":tru,"reset_interval_ms":10}`,
		`{"a":nullx,"reset_interval_ms":10}`, `{"a":[1,2,],"reset_interval_ms":10}`,
		`{"a":[,1],"reset_interval_ms":10}`, `{"a":{"b":1,},"reset_interval_ms":10}`,
		`{"a":{"b" 1},"reset_interval_ms":10}`, `{"a":{1:2},"reset_interval_ms":10}`,
		`{"reset_interval_ms":10}{}`, `{"reset_interval_ms":10} `, "\t\n\r {\"reset_interval_ms\":10}\r\n",
		"\v{\"reset_interval_ms\":10}", "\xef\xbb\xbf{\"reset_interval_ms\":10}",
		`{"a":[[[[{"reset_interval_ms":1}]]]],"reset_interval_ms":11}`, `{,"reset_interval_ms":11}`,
		`{"reset_interval_ms":11,"a":{"b":[{"c":[]}]}}`,
		// Nesting at and past encoding/json's limit of 10000.
		`{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `,"reset_interval_ms":12}`,
		`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `,"reset_interval_ms":12}`,
		`{"a":` + strings.Repeat(`{"b":`, 9999) + `1` + strings.Repeat("}", 9999) + `,"reset_interval_ms":13}`,
		`{"a":` + strings.Repeat(`{"b":`, 10000) + `1` + strings.Repeat("}", 10000) + `,"reset_interval_ms":13}`,
		`{"a":` + strings.Repeat("[", 20000),
	}
	return append(cases, randomPolicies(400)...)
}

// randomPolicies returns n policy texts from a fixed seed: random JSON
// objects with and without a top-level reset_interval_ms, half of them
// then mutated a byte or two, so that both valid and broken texts occur.
func randomPolicies(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	var out []string
	for range n {
		var b strings.Builder
		randomObject(r, &b, 0, true)
		s := b.String()
		if r.IntN(2) == 0 {
			s = mutate(r, s)
		}
		out = append(out, s)
	}
	return out
}

// numbers are the number texts random policies use.
var numbers = []string{
	"0", "-0", "1", "-1", "5", "42", "60000", "86400000", "9223372036854775807", "9223372036854775808",
	"-9223372036854775808", "-9223372036854775809", "1.5", "2e3", "1E-2", "-0.0", "12345678901234567890",
}

func randomValue(r *rand.Rand, b *strings.Builder, depth int) {
	switch k := r.IntN(8); {
	case k == 0 && depth < 4:
		randomObject(r, b, depth+1, false)
	case k == 1 && depth < 4:
		b.WriteByte('[')
		for i := range r.IntN(3) {
			if i > 0 {
				b.WriteByte(',')
			}
			randomValue(r, b, depth+1)
		}
		b.WriteByte(']')
	case k == 2:
		b.WriteString([]string{"true", "false", "null"}[r.IntN(3)])
	case k == 3:
		b.WriteString([]string{`"x"`, `"\u00e9"`, `"\ud83d\ude00"`, `"a\"b"`, `""`, "\"\xff\"", `"\n"`}[r.IntN(7)])
	default:
		b.WriteString(numbers[r.IntN(len(numbers))])
	}
}

func randomObject(r *rand.Rand, b *strings.Builder, depth int, top bool) {
	keys := []string{`"limits"`, `"a"`, `"reset_interval_ms"`, `"reset\u005finterval_ms"`, `"RESET_INTERVAL_MS"`}
	b.WriteByte('{')
	for i := range r.IntN(4) {
		if i > 0 {
			b.WriteByte(',')
		}
		if r.IntN(4) == 0 {
			b.WriteString(" ")
		}
		b.WriteString(keys[r.IntN(len(keys))])
		b.WriteByte(':')
		if top && r.IntN(2) == 0 {
			b.WriteString(numbers[r.IntN(len(numbers))])
		} else {
			randomValue(r, b, depth)
		}
	}
	b.WriteByte('}')
}

// mutate changes one or two bytes of s: a deletion, an insertion or a
// replacement, with bytes that matter to JSON.
func mutate(r *rand.Rand, s string) string {
	const alphabet = "{}[]\":,\\ -+.0123456789eEtfnul\x00\x7f\xc3\xff"
	b := []byte(s)
	for range 1 + r.IntN(2) {
		if len(b) == 0 {
			return string(alphabet[r.IntN(len(alphabet))])
		}
		i := r.IntN(len(b))
		switch r.IntN(3) {
		case 0:
			b = append(b[:i], b[i+1:]...)
		case 1:
			b = append(b[:i], append([]byte{alphabet[r.IntN(len(alphabet))]}, b[i:]...)...)
		default:
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
	}
	return string(b)
}
