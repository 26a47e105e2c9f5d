package plugintest_test

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
)

// echoWasm is a plugin that logs its config key greeting every tick.
var echoWasm = filepath.Join("..", "daemon", "testdata", "config_echo.wasm")

func TestConfigValues(t *testing.T) {
	var log bytes.Buffer
	h := plugintest.New(t, echoWasm, plugintest.Options{Logger: slog.New(slog.NewTextHandler(&log, nil)),
		Config: map[string]host.ConfigValue{"greeting": {Literal: "salut"}}})
	h.MustTick(1)
	if !strings.Contains(log.String(), "msg=salut") {
		t.Errorf("the plugin did not read the value:\n%s", log.String())
	}
	_, err := plugintest.Open(echoWasm, plugintest.Options{Config: map[string]host.ConfigValue{"greeting": {Literal: int64(1)}}})
	if err == nil || !strings.Contains(err.Error(), "key greeting: want a string, not a whole number") {
		t.Errorf("Open with a value of the wrong type = %v", err)
	}
}
