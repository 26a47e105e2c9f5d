package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// echoDir returns a plugin directory holding config_echo, a plugin with
// config keys, and a configuration file with text.
func echoDir(t *testing.T, text string) (dir, conf string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "host", "daemon", "testdata", "config_echo.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir = filepath.Join(root, "plugins")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config_echo.wasm"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	conf = filepath.Join(root, "ff.toml")
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, conf
}

func TestPluginsShowsConfig(t *testing.T) {
	dir, conf := echoDir(t, "[plugin.config_echo.config]\ngreeting = { env = \"ECHO_SECRET\" }\n")
	cache := filepath.Join(t.TempDir(), "cache")
	a, stdout, stderr := testApp(map[string]string{"ECHO_SECRET": "s3cr3t"})
	if code := a.main([]string{"plugins", "--plugins", dir, "--cache-dir", cache}); code != exitOK {
		t.Fatalf("plugins: exit %d: %s", code, stderr)
	}
	if out := stdout.String(); !strings.Contains(out, "config_echo config:") ||
		!regexpMatch(out, `greeting\s+string\s+hello\s+default\s+what the plugin logs each tick`) ||
		!regexpMatch(out, `batch\s+int\s+10\s+default`) {
		t.Errorf("plugins without --config:\n%s", out)
	}
	a, stdout, stderr = testApp(map[string]string{"ECHO_SECRET": "s3cr3t"})
	if code := a.main([]string{"plugins", "--plugins", dir, "--cache-dir", cache, "--config", conf}); code != exitOK {
		t.Fatalf("plugins --config: exit %d: %s", code, stderr)
	}
	if out := stdout.String(); !regexpMatch(out, `greeting\s+string\s+\(secret from env ECHO_SECRET\)\s+file`) || strings.Contains(out, "s3cr3t") {
		t.Errorf("plugins --config:\n%s", out)
	}
}

func TestConfigCheckConfigKeys(t *testing.T) {
	dir, conf := echoDir(t, "[plugin.config_echo.config]\ngreeting = 5\ngreetings = \"hi\"\n")
	a, stdout, _ := testApp(nil)
	code := a.main([]string{"config", "check", conf, "--plugins", dir, "--cache-dir", filepath.Join(t.TempDir(), "cache")})
	want := "error: " + conf + ":2: plugin.config_echo.config.greeting: want a string, not a whole number\n" +
		"error: " + conf + ":3: plugin.config_echo.config.greetings: unknown key greetings (declared: greeting, batch)\n"
	if code != exitFail || stdout.String() != want {
		t.Errorf("config check: exit %d, stdout:\n%s\nwant exit 1 and:\n%s", code, stdout, want)
	}
}

func regexpMatch(s, pattern string) bool { return regexp.MustCompile(pattern).MatchString(s) }

// TestTickWithConfig: tick --config hands the plugin the file's values, as
// run does, and refuses values the plugin does not declare.
func TestTickWithConfig(t *testing.T) {
	dir, conf := echoDir(t, "[plugin.config_echo.config]\ngreeting = { env = \"ECHO_GREETING\" }\n")
	db := filepath.Join(t.TempDir(), "ff.db")
	cache := filepath.Join(t.TempDir(), "cache")
	env := map[string]string{"ECHO_GREETING": "bonjour"}
	a, _, stderr := testApp(env)
	if code := a.main([]string{"migrate", "--db", db}); code != exitOK {
		t.Fatalf("migrate: %s", stderr)
	}
	a, stdout, stderr := testApp(env)
	if code := a.main([]string{"tick", "--db", db, "--plugins", dir, "--cache-dir", cache, "--config", conf, "config_echo"}); code != exitOK {
		t.Fatalf("tick: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr.String(), "msg=bonjour") || !strings.Contains(stdout.String(), `"processed":1`) {
		t.Errorf("tick with the file's value: stdout %s stderr %s", stdout, stderr)
	}
	a, _, stderr = testApp(env)
	if code := a.main([]string{"tick", "--db", db, "--plugins", dir, "--cache-dir", cache, "config_echo"}); code != exitOK ||
		!strings.Contains(stderr.String(), "msg=hello") {
		t.Errorf("tick without a file: exit %d, stderr %s; want the default hello", code, stderr)
	}
	if err := os.WriteFile(conf, []byte("[plugin.config_echo]\ngrant = {}\n[plugin.config_echo.config]\ngreting = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, _, stderr = testApp(env)
	if code := a.main([]string{"tick", "--db", db, "--plugins", dir, "--cache-dir", cache, "--config", conf, "config_echo"}); code != exitFail ||
		!strings.Contains(stderr.String(), "config of plugin config_echo: unknown key greting (declared: greeting, batch)") {
		t.Errorf("tick with an unknown key: exit %d, stderr %s", code, stderr)
	}
}
