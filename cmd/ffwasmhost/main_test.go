package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// testApp returns an app with captured output and the given environment.
func testApp(env map[string]string) (*app, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	return &app{stdout: &stdout, stderr: &stderr, lookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}}, &stdout, &stderr
}

func TestIntervalFlag(t *testing.T) {
	for _, c := range []struct {
		in      string
		name    string
		want    time.Duration
		wantErr string
	}{
		{"budget_reset=2s", "budget_reset", 2 * time.Second, ""},
		{"worker_ttl=0", "worker_ttl", 0, ""},
		{"x1=1m30s", "x1", 90 * time.Second, ""},
		{"budget_reset=abc", "", 0, `duration "abc"`},
		{"=5s", "", 0, "missing plugin name"},
		{"x", "", 0, "want NAME=DURATION"},
		{"Budget=1s", "", 0, "not a plugin name"},
		{"budget_reset=-1s", "", 0, "negative"},
		{"budget_reset=8760h", "budget_reset", 8760 * time.Hour, ""},
		{"budget_reset=8761h", "", 0, "over the limit of 8760h0m0s"},
		{"budget_reset=2562047h", "", 0, "over the limit"},
	} {
		f := intervalFlag{}
		err := f.Set(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("Set(%q) = %v, want an error containing %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || f[c.name] != c.want {
			t.Errorf("Set(%q) = %v, %v; want %s=%v", c.in, f, err, c.name, c.want)
		}
	}
}

func TestEnvIntervals(t *testing.T) {
	a, _, _ := testApp(map[string]string{"FF_BUDGET_RESET_INTERVAL_S": "0", "FF_WORKER_REGISTRY_TTL_INTERVAL_S": "45"})
	got, err := a.envIntervals()
	if err != nil || len(got) != 2 || got["budget_reset"] != 0 || got["worker_ttl"] != 45*time.Second {
		t.Errorf("envIntervals = %v, %v", got, err)
	}
	a, _, _ = testApp(map[string]string{"FF_WORKER_REGISTRY_TTL_INTERVAL_S": "1.5"})
	if _, err := a.envIntervals(); err == nil || !strings.Contains(err.Error(), "FF_WORKER_REGISTRY_TTL_INTERVAL_S") {
		t.Errorf("envIntervals with 1.5 = %v, want an error naming the variable", err)
	}
}

func TestFlagDefaultsComeFromEnv(t *testing.T) {
	a, _, _ := testApp(nil)
	fs, o := a.runFlags()
	if _, _, ok := a.parse(fs, nil); !ok {
		t.Fatal("parse failed")
	}
	if *o.db != "./ff.db" || *o.plugins != "./build/plugins" || *o.http != "127.0.0.1:9464" {
		t.Errorf("defaults = %s %s %s", *o.db, *o.plugins, *o.http)
	}
	a, _, _ = testApp(map[string]string{"FF_DB": "/x.db", "FF_PLUGINS_DIR": "/p", "FF_HTTP_ADDR": ""})
	fs, o = a.runFlags()
	if _, _, ok := a.parse(fs, []string{"--db", "/flag.db"}); !ok {
		t.Fatal("parse failed")
	}
	if *o.db != "/flag.db" || *o.plugins != "/p" || *o.http != "" {
		t.Errorf("flag > env > default: got %s %s %q", *o.db, *o.plugins, *o.http)
	}
}

func TestParseAllowsFlagsAfterArguments(t *testing.T) {
	a, _, _ := testApp(nil)
	fs, o := a.tickFlags()
	pos, _, ok := a.parse(fs, []string{"budget_reset", "--dry-run", "--now", "5"})
	if !ok || len(pos) != 1 || pos[0] != "budget_reset" || !*o.dryRun || o.now.ms != 5 {
		t.Errorf("parse = %v %v, dry-run %v now %v", pos, ok, *o.dryRun, o.now.ms)
	}
	fs, _ = a.tickFlags()
	pos, _, ok = a.parse(fs, []string{"--", "-odd"})
	if !ok || len(pos) != 1 || pos[0] != "-odd" {
		t.Errorf("parse after -- = %v %v", pos, ok)
	}
}

func TestBadFlagIsOneLineAndExit2(t *testing.T) {
	a, stdout, stderr := testApp(nil)
	if code := a.main([]string{"run", "--log-format", "xml"}); code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if stdout.Len() != 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "want text or json") {
		t.Errorf("stdout %q stderr %q", stdout, stderr)
	}
}

func TestFailfFoldsLines(t *testing.T) {
	a, _, stderr := testApp(nil)
	a.failf("compile: %v", "line one\nline two\n")
	if got := stderr.String(); got != "ffwasmhost: compile: line one line two\n" {
		t.Errorf("failf = %q", got)
	}
}
