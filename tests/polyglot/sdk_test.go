package polyglot

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// sdkModules are the SDK check modules (testdata/sdkcheck.*), by language.
var sdkModules = []struct {
	lang  string
	build func(testing.TB) string
}{
	{"C", func(t testing.TB) string { return buildC(t, "sdkcheck_c", "tests/polyglot/testdata/sdkcheck.c") }},
	{"Rust", func(t testing.TB) string { return buildRust(t, "sdkcheck_rust", "tests/polyglot/testdata/sdkcheck.rs") }},
}

const (
	update  = "sql_exec UPDATE t SET x = 1|(none)"
	begin   = "tx_begin"
	commit  = "tx_commit"
	rollbck = "tx_rollback"
)

var (
	busy = reply{status: 1, payload: []byte("locked")}
	ms5  = 5 * time.Millisecond
	ms10 = 10 * time.Millisecond
)

// bigResult is a query result past the SDKs' first 16 KiB out buffer,
// with a value of every type.
func bigResult() []byte {
	return queryResult([]string{"id", "name", "score", "data"},
		[]any{int64(1), strings.Repeat("a", 40_000), 2.5, []byte{1, 2}}, []any{int64(2), nil, nil, nil})
}

// sdkScenario is one scan_tick of the check modules against a scripted
// host, and what both SDKs must then have done.
type sdkScenario struct {
	name    string
	now     int64
	script  func(t *testing.T, h *fakeHost)
	calls   []string        // nil: not checked
	logs    []string        // at info level unless they start with a level
	sleeps  []time.Duration // exactly
	result  int32
	report  [2]int64
	tickErr string
}

func sdkScenarios() []sdkScenario {
	return []sdkScenario{
		{
			name: "exec binds every argument type",
			now:  1,
			script: func(t *testing.T, h *fakeHost) {
				h.queue("sql_exec", reply{payload: execResult(3, 7)})
			},
			calls: []string{
				`sql_exec INSERT INTO t VALUES (?, ?, ?, ?, ?)|int64:42,float64:1.5,text:"ab",blob:ff00,null`,
				"sql_exec DELETE FROM t|(none)",
			},
			logs: []string{"exec 3 7", "exec 0 0"},
		},
		{
			name: "query results past the out buffer are fetched, and the buffer grows",
			now:  2,
			script: func(t *testing.T, h *fakeHost) {
				h.queue("sql_query", reply{payload: bigResult()}, reply{payload: bigResult()})
			},
			calls: []string{
				"sql_query SELECT id, name, score, data FROM t|(none)", "fetch " + strconv.Itoa(len(bigResult())),
				"sql_query SELECT id, name, score, data FROM t|(none)",
			},
			logs: []string{
				"columns 4 id name score data",
				"row 1 name=40000 score=2.5 data=2",
				"int: ffhost other: column 1 (name) is TEXT, want INTEGER",
				"double 1",
				"row 2 name=NULL score=NULL data=NULL",
				"text: ffhost other: column 1 (name) is NULL, want TEXT or BLOB",
				"again 2",
			},
		},
		{
			name:   "an unknown status is other",
			now:    3,
			script: func(t *testing.T, h *fakeHost) { h.queue("sql_exec", reply{status: 9, payload: []byte("weird")}) },
			logs:   []string{"other ffhost other: weird"},
		},
		{
			name:   "a busy begin is retried after 5 and 10 ms",
			now:    4,
			script: func(t *testing.T, h *fakeHost) { h.queue("tx_begin", busy, busy) },
			calls:  []string{begin, begin, begin, update, commit},
			logs:   []string{"tx ok attempts=1"},
			sleeps: []time.Duration{ms5, ms10},
		},
		{
			name:   "three busy begins fail with nothing to roll back",
			now:    5,
			script: func(t *testing.T, h *fakeHost) { h.queue("tx_begin", busy, busy, busy) },
			calls:  []string{begin, begin, begin},
			logs:   []string{"tx begin: ffhost busy: locked attempts=0"},
			sleeps: []time.Duration{ms5, ms10},
		},
		{
			name:   "a failed commit is rolled back, and retried when busy",
			now:    6,
			script: func(t *testing.T, h *fakeHost) { h.queue("tx_commit", busy, busy, busy) },
			calls:  []string{begin, update, commit, rollbck, begin, update, commit, rollbck, begin, update, commit, rollbck},
			logs:   []string{"tx commit: ffhost busy: locked attempts=3"},
			sleeps: []time.Duration{ms5, ms10},
		},
		{
			name: "a failed body is rolled back and, unless busy, not retried",
			now:  7,
			script: func(t *testing.T, h *fakeHost) {
				h.queue("sql_exec", reply{status: 2, payload: []byte("UNIQUE constraint failed: t.x")})
			},
			calls: []string{begin, update, rollbck},
			logs:  []string{"tx update: ffhost constraint: UNIQUE constraint failed: t.x attempts=1"},
		},
		{
			name:   "a busy body is rolled back and the whole transaction retried",
			now:    8,
			script: func(t *testing.T, h *fakeHost) { h.queue("sql_exec", busy) },
			calls:  []string{begin, update, rollbck, begin, update, commit},
			logs:   []string{"tx ok attempts=2"},
			sleeps: []time.Duration{ms5},
		},
		{
			name:    "a failed tick reports its counts and its error",
			now:     9,
			result:  1,
			report:  [2]int64{2, 1},
			tickErr: "step: ffhost invalid: bad",
		},
		{
			name: "log at four levels",
			now:  10,
			logs: []string{"-4 d", "0 i", "4 w", "8 e"},
		},
		{
			name: "a malformed query result is invalid",
			now:  11,
			script: func(t *testing.T, h *fakeHost) {
				// One column "x", a thousand rows, no bytes for them.
				h.queue("sql_query", reply{payload: []byte{1, 0, 0, 0, 1, 0, 0, 0, 'x', 0xe8, 3, 0, 0}})
			},
			logs: []string{"query ffhost invalid: decode query result: row count past the end"},
		},
		{
			name:   "an exec result of the wrong size is invalid",
			now:    12,
			script: func(t *testing.T, h *fakeHost) { h.queue("sql_exec", reply{payload: make([]byte, 8)}) },
			logs:   []string{"exec ffhost invalid: exec result of 8 bytes, want 16"},
		},
		{
			name: "a fetch that fails is invalid",
			now:  13,
			script: func(t *testing.T, h *fakeHost) {
				h.queue("sql_exec", reply{payload: make([]byte, 70_000), noFetch: true})
			},
			calls: []string{update, "fetch 70000"},
			logs:  []string{"exec ffhost invalid: fetch returned -1 bytes, want 70000"},
		},
		{
			name: "a long error message is fetched too",
			now:  14,
			script: func(t *testing.T, h *fakeHost) {
				h.queue("sql_exec", reply{status: 2, payload: []byte(strings.Repeat("x", 20_000))})
			},
			calls: []string{update, "fetch 20000"},
			logs:  []string{"constraint 20000"},
		},
		{
			name: "a result within the first 16 KiB is not fetched, after describe too",
			now:  17,
			script: func(t *testing.T, h *fakeHost) {
				h.queue("sql_query", reply{payload: queryResult([]string{"t"}, []any{strings.Repeat("m", 10_000)})})
			},
			calls: []string{"sql_query SELECT t FROM mid|(none)"},
			logs:  []string{"mid 10000"},
		},
		{
			name: "config values, one past the first buffer, typed and undeclared",
			now:  18,
			script: func(t *testing.T, h *fakeHost) {
				h.config = map[string]string{"mode": strings.Repeat("m", 20_000), "batch": "7"}
			},
			calls: []string{"config_get mode", "fetch 20000", "config_get batch", "config_get batch", "config_get nope"},
			logs: []string{"mode 20000 mmm", "batch 7", "bool ffhost invalid: config key batch is not a bool",
				`nope ffhost invalid: config key "nope" is not declared by the plugin`},
		},
		{
			name:   "retry makes three attempts while busy",
			now:    15,
			script: func(t *testing.T, h *fakeHost) { h.queue("sql_query", busy, busy, busy) },
			logs:   []string{"retry busy attempts=3"},
			sleeps: []time.Duration{ms5, ms10},
		},
	}
}

// TestSDK runs every scenario through the C and Rust SDKs against the
// scripted host: both must make the same host calls, sleep the same
// backoff, and see the same values and errors. "Rust without
// _initialize" runs them with _initialize never called: the SDK's
// allocator and statics need no constructor.
func TestSDK(t *testing.T) {
	type module struct {
		lang     string
		build    func(testing.TB) string
		skipInit bool
	}
	var modules []module
	for _, m := range sdkModules {
		modules = append(modules, module{m.lang, m.build, false})
	}
	modules = append(modules, module{"Rust without _initialize", sdkModules[1].build, true})
	for _, m := range modules {
		t.Run(m.lang, func(t *testing.T) {
			wasm, err := os.ReadFile(m.build(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, sc := range sdkScenarios() {
				t.Run(sc.name, func(t *testing.T) {
					h := &fakeHost{skipInit: m.skipInit}
					if sc.script != nil {
						sc.script(t, h)
					}
					mod := h.instantiate(t, wasm)
					describeJSON(t, mod) // as the host does first
					if got := scanTick(t, mod, sc.now); got != sc.result {
						t.Errorf("scan_tick returned %d, want %d (tick error %q)", got, sc.result, h.tickErr)
					}
					if sc.calls != nil && !slices.Equal(h.calls, sc.calls) {
						t.Errorf("host calls:\n got %q\nwant %q", h.calls, sc.calls)
					}
					var logs []string
					for _, l := range sc.logs {
						if l[0] != '-' && (l[0] < '0' || l[0] > '9') {
							l = "0 " + l
						}
						logs = append(logs, l)
					}
					if !slices.Equal(h.logs, logs) {
						t.Errorf("log lines:\n got %q\nwant %q", h.logs, logs)
					}
					if !slices.Equal(h.sleeps, sc.sleeps) {
						t.Errorf("sleeps %v, want %v", h.sleeps, sc.sleeps)
					}
					if h.report != sc.report || h.tickErr != sc.tickErr {
						t.Errorf("report %v, tick error %q; want %v, %q", h.report, h.tickErr, sc.report, sc.tickErr)
					}
				})
			}
		})
	}
}

// TestDescribe: both SDKs write the descriptor as the Go SDK does, keys in
// order and strings escaped.
func TestDescribe(t *testing.T) {
	const want = `{"name":"sdkcheck","abi_version":"` + abi.Version + `","version":"1.0 \"β\"","default_interval_ms":1234,` +
		`"reads":["r1"],"writes":["w1","w2"],` +
		`"description":"tab\u0009quote\" back\\ ctl\u0001 del\u007f ls\u2028 ps\u2029 é 😀",` +
		`"owns":["o1"],"migrations":{"postgres":[{"id":1,"name":"create o1","sql":"CREATE TABLE o1 (x text)"}],` +
		`"sqlite":[{"id":1,"name":"create o1","sql":"CREATE TABLE o1 (x TEXT DEFAULT 'a\"b')"},{"id":2,"name":"index o1","sql":"CREATE INDEX o1_x ON o1 (x)"}]},` +
		`"config":[{"name":"mode","type":"string","default":"strict","doc":"a string"},` +
		`{"name":"batch","type":"int","default":"500","doc":"an int"}]}`
	for _, m := range sdkModules {
		t.Run(m.lang, func(t *testing.T) {
			wasm, err := os.ReadFile(m.build(t))
			if err != nil {
				t.Fatal(err)
			}
			h := &fakeHost{}
			if got := string(describeJSON(t, h.instantiate(t, wasm))); got != want {
				t.Errorf("describe:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestDescriptorJSONInvalidUTF8: the C SDK, whose strings are bytes,
// replaces invalid UTF-8 with U+FFFD byte by byte, as Go's range over a
// string does, and ff_descriptor_json behaves as snprintf.
func TestDescriptorJSONInvalidUTF8(t *testing.T) {
	wasm, err := os.ReadFile(buildC(t, "sdkcheck_c", "tests/polyglot/testdata/sdkcheck.c"))
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHost{}
	scanTick(t, h.instantiate(t, wasm), 16)
	json := `{"name":"x` + "\uFFFD" + `","abi_version":"` + abi.Version + `","version":"` +
		strings.Repeat("\uFFFD", 3) + "|" + strings.Repeat("\uFFFD", 2) + "|" + strings.Repeat("\uFFFD", 4) + "|" + strings.Repeat("\uFFFD", 2) +
		`","default_interval_ms":-7,"reads":[],"writes":[],"description":"\u001f\u007f` + "\u0085" + `"}`
	want := []string{"0 json " + json, "0 len " + strconv.Itoa(len(json)) + " " + strconv.Itoa(len(json)) + " " + json[:7]}
	if !slices.Equal(h.logs, want) {
		t.Errorf("log lines:\n got %q\nwant %q", h.logs, want)
	}
}
