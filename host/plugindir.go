package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNoPluginDir is wrapped by CheckPluginDir when the plugin directory does
// not exist or is not a directory.
var ErrNoPluginDir = errors.New("plugin directory missing")

// CheckPluginDir returns nil if dir is a readable directory, else an error
// naming it (wrapping ErrNoPluginDir if it is missing or not a directory).
func CheckPluginDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("plugin directory %s: %w", dir, ErrNoPluginDir)
	case err != nil:
		return fmt.Errorf("plugin directory %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("plugin directory %s: not a directory: %w", dir, ErrNoPluginDir)
	}
	if _, err := os.ReadDir(dir); err != nil {
		return fmt.Errorf("plugin directory %s: %w", dir, err)
	}
	return nil
}

// PluginFiles lists the *.wasm regular files directly in dir, and symlinks
// to regular files, sorted. Hidden files (a leading '.') are skipped, so a
// deploy can write ".name.wasm" and rename it into place.
func PluginFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read plugin directory: %w", err)
	}
	var files []string
	for _, ent := range ents {
		name := ent.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".wasm") {
			continue
		}
		path := filepath.Join(dir, name)
		if ent.Type()&os.ModeSymlink != 0 { // as a Kubernetes ConfigMap mounts files
			if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
				continue
			}
		} else if !ent.Type().IsRegular() {
			continue
		}
		files = append(files, path)
	}
	slices.Sort(files)
	return files, nil
}

// ErrNameConflict is wrapped by a NameConflictError.
var ErrNameConflict = errors.New("duplicate plugin name")

// NameConflictError refuses a plugin file because another file claims the
// same plugin name. A name runs from one file only, and no file takes it by
// merely sorting first: when nothing runs the name yet, every file that
// claims it is refused until only one does.
type NameConflictError struct {
	File string // the refused file
	Name string // the name it claims
	// Others are the other files claiming the name. With Running, the
	// first of them runs the name and keeps it.
	Others  []string
	Running bool
}

func (e *NameConflictError) Error() string {
	reason := fmt.Sprintf("also claimed by %s; none of them runs until only one file claims it", strings.Join(baseNames(e.Others), ", "))
	if e.Running {
		reason = "already running from " + filepath.Base(e.Others[0])
	}
	return fmt.Sprintf("load plugin %s: %s %q, %s", filepath.Base(e.File), ErrNameConflict, e.Name, reason)
}

// Unwrap returns ErrNameConflict.
func (e *NameConflictError) Unwrap() error { return ErrNameConflict }

func baseNames(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = filepath.Base(f)
	}
	return out
}

// LoadDir loads every plugin file in dir (PluginFiles). A file that fails
// to load, and every file of a name that several files claim (a
// *NameConflictError each), is reported in errs and skipped; the others
// are returned, in file order. It fails only if dir is unreadable.
func (e *Engine) LoadDir(ctx context.Context, dir string) (plugins []*Plugin, errs []error, err error) {
	files, err := PluginFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	claims := map[string][]string{}
	var loaded []*Plugin
	for _, f := range files {
		p, err := e.Load(ctx, f, Limits{})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		claims[p.Desc.Name] = append(claims[p.Desc.Name], f)
		loaded = append(loaded, p)
	}
	for _, p := range loaded {
		files := claims[p.Desc.Name]
		if len(files) == 1 {
			plugins = append(plugins, p)
			continue
		}
		p.Close(ctx)
		others := slices.DeleteFunc(slices.Clone(files), func(f string) bool { return f == p.File })
		errs = append(errs, &NameConflictError{File: p.File, Name: p.Desc.Name, Others: others})
	}
	return plugins, errs, nil
}

// ErrTableConflict is wrapped by a TableConflictError.
var ErrTableConflict = errors.New("table claimed by two plugins")

// TableConflictError refuses a plugin file because a plugin of another
// name, loading at the same time, claims a table it owns, and the
// database records no owner yet: as with names, no file takes a table by
// merely sorting first.
type TableConflictError struct {
	File   string   // the refused file
	Table  string   // the table both claim
	Others []string // the other files claiming it
}

func (e *TableConflictError) Error() string {
	return fmt.Sprintf("load plugin %s: %s: %s, also owned by %s; none of them runs until one gives it up",
		filepath.Base(e.File), ErrTableConflict, e.Table, strings.Join(baseNames(e.Others), ", "))
}

// Unwrap returns ErrTableConflict.
func (e *TableConflictError) Unwrap() error { return ErrTableConflict }
