// Command ffwasmhost runs periodic reconcilers, each a sandboxed
// WebAssembly plugin, against a SQLite database.
//
//	ffwasmhost run       run the daemon: migrate, load plugins, tick, hot-reload
//	ffwasmhost tick      run one plugin's tick by hand and print its report
//	ffwasmhost migrate   create or upgrade the database schema and the plugins' tables
//	ffwasmhost plugins   list the plugins in a directory
//	ffwasmhost validate  check plugin files (and, with --db, their pending migrations)
//	ffwasmhost new       write a new plugin project (Go, C or Rust)
//	ffwasmhost status    print each plugin's last tick; exit 1 if one is stale
//	ffwasmhost config    check a configuration file against a plugin directory
//
// Run `ffwasmhost help COMMAND` for a command's flags. Exit status: 0 on
// success, 1 when the work failed, 2 on bad usage.
//
// This package only parses flags, reads the environment, handles signals
// and picks exit codes; the work is done by host and host/daemon.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	a := &app{stdout: os.Stdout, stderr: os.Stderr, lookupEnv: os.LookupEnv}
	os.Exit(a.main(os.Args[1:]))
}

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and failed
	exitUsage = 2 // bad flags or arguments
)

// app is one invocation: its output streams and environment, so tests
// can run it in-process.
type app struct {
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
}

// command is one subcommand.
type command struct {
	name    string
	args    string // the positional arguments, for the usage line
	summary string
	hidden  bool
	run     func(a *app, args []string) int
	flags   func(a *app) *flag.FlagSet // for `help NAME`; nil if it takes none
}

func commands() []command {
	return []command{
		{name: "run", summary: "run the daemon: migrate, load every plugin, tick until SIGINT/SIGTERM (SIGHUP rescans)", run: (*app).cmdRun, flags: func(a *app) *flag.FlagSet { fs, _ := a.runFlags(); return fs }},
		{name: "tick", args: "NAME", summary: "run one tick of the plugin NAME and print its report as one JSON line", run: (*app).cmdTick, flags: func(a *app) *flag.FlagSet { fs, _ := a.tickFlags(); return fs }},
		{name: "status", summary: "print each plugin's last tick from the database's tick ledger; exit 1 if a plugin is stale", run: (*app).cmdStatus, flags: func(a *app) *flag.FlagSet { fs, _ := a.statusFlags(); return fs }},
		{name: "replay", args: "FIXTURE", summary: "run a failed tick again from its fixture (run --fixtures) on a scratch database; exit 1 if it fails again", run: (*app).cmdReplay, flags: func(a *app) *flag.FlagSet { fs, _ := a.replayFlags(); return fs }},
		{name: "migrate", summary: "create or upgrade the database schema, then apply the pending migrations of every plugin in the plugin directory (idempotent)", run: (*app).cmdMigrate, flags: func(a *app) *flag.FlagSet { fs, _ := a.migrateFlags(); return fs }},
		{name: "plugins", summary: "list the plugins in a directory: name, kind, file, sha256, ABI, version, interval, tables, dialects, partitions, config keys (with --config, their values)", run: (*app).cmdPlugins, flags: func(a *app) *flag.FlagSet { fs, _ := a.pluginsFlags(); return fs }},
		{name: "config", args: "check FILE", summary: "check a configuration file, and its grants and config values against the plugins in a directory; exit 1 on an error", run: (*app).cmdConfig, flags: func(a *app) *flag.FlagSet { fs, _ := a.configFlags(); return fs }},
		{name: "validate", args: "FILE.wasm...", summary: "load and check plugin files, printing each one's name and kind; with --db, also check their migrations and list the pending ones without applying them", run: (*app).cmdValidate, flags: func(a *app) *flag.FlagSet { fs, _ := a.validateFlags(); return fs }},
		{name: "new", args: "NAME [DIR]", summary: "write a new plugin project in DIR (default ./NAME), outside this repository: source, a test, a Makefile, a README", run: (*app).cmdNew, flags: func(a *app) *flag.FlagSet { fs, _ := a.newFlags(); return fs }},
		{name: "demo-seed", summary: "insert demo rows into an empty database (used by make run)", hidden: true, run: (*app).cmdDemoSeed, flags: func(a *app) *flag.FlagSet { fs, _ := a.seedFlags(); return fs }},
	}
}

func (a *app) main(args []string) int {
	if len(args) == 0 {
		a.usage(a.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return a.help(args[1])
		}
		a.usage(a.stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(a, args[1:])
		}
	}
	fmt.Fprintf(a.stderr, "ffwasmhost: unknown command %q\n\n", name)
	a.usage(a.stderr)
	return exitUsage
}

func (a *app) usage(w io.Writer) {
	fmt.Fprintf(w, "ffwasmhost runs periodic reconcilers, each a sandboxed WebAssembly plugin, against a SQLite database.\n\n")
	fmt.Fprintf(w, "Usage:\n  ffwasmhost COMMAND [flags] [args]\n\nCommands:\n")
	for _, c := range commands() {
		if !c.hidden {
			fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprintf(w, "\nRun 'ffwasmhost help COMMAND' (or 'ffwasmhost COMMAND -h') for a command's flags.\n")
}

// help prints a command's usage.
func (a *app) help(name string) int {
	for _, c := range commands() {
		if c.name == name {
			a.commandUsage(a.stdout, c, c.flags(a))
			return exitOK
		}
	}
	a.failf("help: unknown command %q", name)
	return exitUsage
}

func (a *app) commandUsage(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: ffwasmhost %s\n\n%s.\n\nFlags:\n", strings.TrimSpace(c.name+" [flags] "+c.args), upperFirst(c.summary))
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// newFlagSet returns a flag set that prints nothing itself: parse reports
// errors on one line and -h prints the usage to stdout.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args into fs, allowing flags after positional arguments.
// It returns the positional arguments, or ok false with the exit code:
// 0 after -h, 2 after a bad flag (reported on one line).
func (a *app) parse(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			for _, c := range commands() {
				if c.name == fs.Name() {
					a.commandUsage(a.stdout, c, fs)
				}
			}
			return nil, exitOK, false
		}
		if err != nil {
			a.failf("%s: %v (see 'ffwasmhost help %s')", fs.Name(), err, fs.Name())
			return nil, exitUsage, false
		}
		if fs.NArg() == 0 {
			return pos, 0, true
		}
		if i := len(args) - fs.NArg() - 1; i >= 0 && args[i] == "--" {
			return append(pos, fs.Args()...), 0, true
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// failf prints one line to stderr: "ffwasmhost: " and the message, with
// any line breaks folded so the error stays on one line.
func (a *app) failf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ")), " ")
	fmt.Fprintf(a.stderr, "ffwasmhost: %s\n", msg)
}
