// Package scaffold writes a new plugin project outside this repository,
// for `ffwasmhost new`: the plugin's source in Go, C or Rust, one test
// (through host/plugintest for Go, a test script for C and Rust), a
// Makefile whose build, test and validate targets need one command each,
// and a README. The templates are embedded in the binary.
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/template"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
)

//go:embed templates
var templates embed.FS

// Langs are the languages a project can be written in.
var Langs = []string{"go", "c", "rust"}

// Project is what Write needs.
type Project struct {
	// Name is the plugin's name (describe.ValidName).
	Name string
	// Lang is one of Langs.
	Lang string
	// Dir is where the project goes: a directory that does not exist or is
	// empty.
	Dir string
	// SDK is the absolute path of a checkout of ffwasmhost: the Go module's
	// replace target, and where the C and Rust SDKs are built from.
	SDK string
	// Module is the Go module path; default example.com/NAME.
	Module string
}

// data is what the templates see.
type data struct {
	Name, Table, SDK, Module string
}

// Table is the table a new project's plugin owns: NAME_runs, or
// runs_NAME when NAME starts with ff_ (a prefix an owned table may not
// have).
func Table(name string) string {
	if strings.HasPrefix(name, "ff_") {
		return "runs_" + name
	}
	return name + "_runs"
}

// Write writes the project p into p.Dir and returns the files written,
// relative to it. It writes into a new directory beside p.Dir and renames
// it into place, so a failure leaves nothing half-written.
func Write(p Project) ([]string, error) {
	if !describe.ValidName(p.Name) {
		return nil, fmt.Errorf("plugin name %q: want a lowercase letter, then up to 63 lowercase letters, digits or '_'", p.Name)
	}
	if !slices.Contains(Langs, p.Lang) {
		return nil, fmt.Errorf("language %q: want one of %s", p.Lang, strings.Join(Langs, ", "))
	}
	if !filepath.IsAbs(p.SDK) {
		return nil, fmt.Errorf("ffwasmhost checkout %q: want an absolute path", p.SDK)
	}
	if p.Module == "" {
		p.Module = "example.com/" + p.Name
	}
	if ents, err := os.ReadDir(p.Dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("directory %s exists and is not empty; nothing was written", p.Dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("directory %s: %w", p.Dir, err)
	}
	parent := filepath.Dir(filepath.Clean(p.Dir))
	if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("directory %s does not exist; create it first", parent)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(p.Dir)+"-new-")
	if err != nil {
		return nil, fmt.Errorf("write project: %w", err)
	}
	defer os.RemoveAll(tmp) // nothing left once renamed
	d := data{Name: p.Name, Table: Table(p.Name), SDK: p.SDK, Module: p.Module}
	root := path.Join("templates", p.Lang)
	ents, err := templates.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range ents {
		name := outputName(strings.TrimSuffix(e.Name(), ".tmpl"))
		b, err := render(path.Join(root, e.Name()), d)
		if err != nil {
			return nil, err
		}
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b, mode); err != nil {
			return nil, fmt.Errorf("write project: %w", err)
		}
		files = append(files, name)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("write project: %w", err)
	}
	os.Remove(p.Dir) // empty, if it exists: the rename replaces it
	if err := os.Rename(tmp, p.Dir); err != nil {
		return nil, fmt.Errorf("write project: %w", err)
	}
	slices.Sort(files)
	return files, nil
}

// outputName maps a template's name to the file's: gitignore becomes
// .gitignore (a dot file would not be embedded).
func outputName(name string) string {
	if name == "gitignore" {
		return ".gitignore"
	}
	return name
}

func render(name string, d data) ([]byte, error) {
	src, err := templates.ReadFile(name)
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return b.Bytes(), nil
}
