package config

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchDebounce is how long Watch waits after an event for the burst of
// events one save makes to end.
const watchDebounce = 100 * time.Millisecond

// Watch calls changed, on Watch's goroutine, each time the file at path is
// written, created, renamed into place or removed, once per burst of
// events, until ctx is done. It watches the file's directory, so editors
// that save by renaming a new file over the old one are seen. It returns
// an error only if the directory cannot be watched.
func Watch(ctx context.Context, path string, changed func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch config file %s: %w", path, err)
	}
	dir, base := filepath.Split(filepath.Clean(path))
	if dir == "" {
		dir = "."
	}
	if err := w.Add(dir); err != nil {
		w.Close()
		return fmt.Errorf("watch config file %s: %w", path, err)
	}
	go func() {
		defer w.Close()
		debounce := time.NewTimer(time.Hour)
		debounce.Stop()
		defer debounce.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Base(ev.Name) == base && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Remove) != 0 {
					debounce.Reset(watchDebounce)
				}
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
				debounce.Reset(watchDebounce) // events may be lost: look again
			case <-debounce.C:
				changed()
			}
		}
	}()
	return nil
}
