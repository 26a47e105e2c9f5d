package sqlsandbox

import (
	"bufio"
	"context"
	"database/sql/driver"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"modernc.org/sqlite"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// foreignFunc is a function the driver registers on every connection, as
// an application or a later driver version may: plugins must not get it.
const foreignFunc = "ffwasmhost_test_foreign"

var registerForeign sync.Once

// buildFunctions returns the SQL functions this build of SQLite has, as
// PRAGMA function_list names them, with their argument counts.
func buildFunctions(t *testing.T, db *testDB) map[string][]int {
	t.Helper()
	rows, err := db.SQL.Query(`SELECT name, narg FROM pragma_function_list`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	fns := map[string][]int{}
	for rows.Next() {
		var name string
		var narg int
		if err := rows.Scan(&name, &narg); err != nil {
			t.Fatal(err)
		}
		fns[name] = append(fns[name], narg)
	}
	return fns
}

// functionSamples reads testdata/sql_functions.txt: one call per function.
func functionSamples(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/sql_functions.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	samples := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, stmt, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("testdata/sql_functions.txt: no tab in %q", line)
		}
		samples[name] = stmt
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return samples
}

// TestFunctionAllowlist: every listed function this build has runs on a
// plugin's connection; every other function of the build, among them one
// the driver registers (foreignFunc), is refused by name.
func TestFunctionAllowlist(t *testing.T) {
	if !slices.IsSortedFunc(allowedFunctions, func(a, b sqlFunction) int { return strings.Compare(a.name, b.name) }) {
		t.Fatal("allowedFunctions is not sorted by name")
	}
	registerForeign.Do(func() {
		sqlite.MustRegisterDeterministicScalarFunction(foreignFunc, 0, func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error) {
			return int64(1), nil
		})
	})
	db, s := mustSession(t) // opened after the registration: has foreignFunc
	build := buildFunctions(t, db)
	if _, ok := build[foreignFunc]; !ok {
		t.Fatalf("the driver did not register %s on the host's connection", foreignFunc)
	}
	samples := functionSamples(t)
	ctx := context.Background()
	call := func(stmt string) error {
		return s.run(func() error {
			_, err := s.Query(ctx, nil, []byte(stmt), nil, 1<<20)
			return err
		})
	}
	for _, f := range allowedFunctions {
		if _, ok := build[f.name]; !ok {
			t.Logf("%s (%s) is listed but not in this build", f.name, f.kind)
			continue
		}
		stmt, ok := samples[f.name]
		if !ok {
			t.Errorf("testdata/sql_functions.txt has no call of %s", f.name)
			continue
		}
		if err := call(stmt); err != nil {
			status, msg := s.Explain(err)
			t.Errorf("%s: %s = %v %q, want it to run", f.name, stmt, status, msg)
		}
	}
	for name, nargs := range build {
		if functionAllowed(name) {
			continue
		}
		n := nargs[0]
		if n < 0 { // any number of arguments
			n = 1
		}
		stmt := "SELECT " + name + "(" + strings.TrimSuffix(strings.Repeat("NULL, ", n), ", ") + ")"
		err := call(stmt)
		status, msg := s.Explain(err)
		if want := "not authorized: function " + name + ": function not allowed"; status != abi.StatusNotAuthorized || msg != want {
			t.Errorf("%s = %v %q, want not_authorized %q", stmt, status, msg, want)
		}
	}
}
