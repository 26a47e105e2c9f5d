package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ffwasmhost/ffwasmhost/internal/scaffold"
)

// envSDK names the ffwasmhost checkout new projects build against.
const envSDK = "FFWASMHOST_SDK"

type newOpts struct{ lang, sdk, module *string }

func (a *app) newFlags() (*flag.FlagSet, newOpts) {
	fs := newFlagSet("new")
	var o newOpts
	o.lang = fs.String("lang", "go", "the plugin's `LANGUAGE`: "+strings.Join(scaffold.Langs, ", "))
	o.sdk = fs.String("sdk", a.envOr(envSDK, ""), "the `DIR` of a checkout of github.com/ffwasmhost/ffwasmhost to build against: the Go module's replace, the C and Rust SDKs (env "+envSDK+"; default: the checkout this binary was built from, or the one around the working directory)")
	o.module = fs.String("module", "", "the Go module `PATH` (default example.com/NAME)")
	return fs, o
}

// cmdNew writes a new plugin project: "ok DIR" and the files written, then
// the commands to build, test and validate it.
func (a *app) cmdNew(args []string) int {
	fs, o := a.newFlags()
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) < 1 || len(pos) > 2 {
		a.failf("new: want NAME and optionally DIR, got %d arguments (see 'ffwasmhost help new')", len(pos))
		return exitUsage
	}
	name, dir := pos[0], pos[0]
	if len(pos) == 2 {
		dir = pos[1]
	}
	sdk, err := findSDK(*o.sdk)
	if err != nil {
		a.failf("new: %v", err)
		return exitFail
	}
	files, err := scaffold.Write(scaffold.Project{Name: name, Lang: *o.lang, Dir: dir, SDK: sdk, Module: *o.module})
	if err != nil {
		a.failf("new: %v", err)
		return exitFail
	}
	fmt.Fprintf(a.stdout, "ok %s (%s plugin %s, built against %s)\n", dir, *o.lang, name, sdk)
	for _, f := range files {
		fmt.Fprintf(a.stdout, "  %s\n", f)
	}
	fmt.Fprintf(a.stdout, "next: cd %s && make build test validate\n", dir)
	return exitOK
}

// findSDK returns the absolute path of an ffwasmhost checkout: dir if set,
// else the one this binary was built from (unless built with -trimpath),
// else the one the working directory is in.
func findSDK(dir string) (string, error) {
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		if !isCheckout(abs) {
			return "", fmt.Errorf("--sdk %s: not a checkout of github.com/ffwasmhost/ffwasmhost (no go.mod of that module)", dir)
		}
		return abs, nil
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if root := filepath.Dir(filepath.Dir(filepath.Dir(file))); isCheckout(root) {
			return root, nil
		}
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if isCheckout(d) {
				return d, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", fmt.Errorf("cannot tell where the ffwasmhost source is: pass --sdk DIR (or set %s), a checkout of github.com/ffwasmhost/ffwasmhost; the module is not published yet", envSDK)
}

// isCheckout reports whether dir holds the go.mod of ffwasmhost.
func isCheckout(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	return sc.Scan() && strings.TrimSpace(sc.Text()) == "module github.com/ffwasmhost/ffwasmhost"
}
