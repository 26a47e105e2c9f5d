package hostile

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables of the processes this test binary starts as
// itself.
const (
	// envChild is set (to 1) in a child that runs one TestInProcess
	// subtest; the paths it needs come in the variables below (childEnv).
	envChild = "FFHOSTILE_CHILD"
	// envHelper selects a helper mode instead of the tests: "lockprobe".
	envHelper = "FFHOSTILE_HELPER"
	// Paths a child is given by its parent.
	envGood        = "FFHOSTILE_GOOD_WASM"
	envBudgetReset = "FFHOSTILE_BUDGET_RESET_WASM"
	envCache       = "FFHOSTILE_CACHE_DIR"
)

// killBytes is the resident memory at which the watchdog kills a process
// it watches: far over every bound the table sets, low enough to spare a
// shared machine.
const killBytes = 2 << 30

// inChild reports whether this process is a child running one subtest.
func inChild() bool { return os.Getenv(envChild) != "" }

// watched is a process under the watchdog.
type watched struct {
	cmd  *exec.Cmd
	out  *capBuffer
	done chan struct{} // closed when the process has exited and been waited for

	mu       sync.Mutex
	killed   string // why the watchdog killed it
	peakRSS  int64  // bytes, the largest VmHWM (peak resident memory) seen
	peakTemp int64  // bytes, the most in deleted files it held open at once
	err      error  // from Wait
}

// watch starts cmd, its output going to a capBuffer unless cmd has its
// own, and a watchdog that samples its memory and open temporary files
// every 25 ms and kills it once it passes killBytes or has run for limit.
func watch(cmd *exec.Cmd, limit time.Duration) (*watched, error) {
	w := &watched{cmd: cmd, out: &capBuffer{max: 64 << 20}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = w.out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = w.out
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
		close(exited)
	}()
	go func() {
		defer close(w.done)
		end := time.NewTimer(limit)
		defer end.Stop()
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-exited:
				return
			case <-end.C:
				w.kill(fmt.Sprintf("still running after %v", limit))
			case <-tick.C:
				pid := cmd.Process.Pid
				rss, hwm, temp := residentBytes(pid), procStatus(pid, "VmHWM"), tempBytes(pid)
				w.mu.Lock()
				w.peakRSS = max(w.peakRSS, hwm)
				w.peakTemp = max(w.peakTemp, temp)
				w.mu.Unlock()
				if rss > killBytes {
					w.kill(fmt.Sprintf("resident memory %d MiB, over %d MiB", rss>>20, killBytes>>20))
				}
			}
		}
	}()
	return w, nil
}

func (w *watched) kill(why string) {
	w.mu.Lock()
	if w.killed == "" {
		w.killed = why
	}
	w.mu.Unlock()
	w.cmd.Process.Kill()
}

// exited reports whether the process has exited.
func (w *watched) exited() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// wait waits for the process and its watchdog.
func (w *watched) wait() {
	<-w.done
}

// stats returns what the watchdog saw; call it after wait.
func (w *watched) stats() (killed string, peakRSS, peakTemp int64, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.killed, w.peakRSS, w.peakTemp, w.err
}

// capBuffer keeps the first max bytes written to it and counts the rest:
// a daemon whose plugin ticks a million times a second must not fill the
// test's memory with its log.
type capBuffer struct {
	mu      sync.Mutex
	max     int
	b       bytes.Buffer
	dropped int64
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.max - c.b.Len()
	if room >= len(p) {
		c.b.Write(p)
	} else {
		if room > 0 {
			c.b.Write(p[:room])
		}
		c.dropped += int64(len(p) - max(room, 0))
	}
	return len(p), nil
}

// String returns what was kept.
func (c *capBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}

// Dropped returns how many bytes were not kept.
func (c *capBuffer) Dropped() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// residentBytes returns a process's resident memory (VmRSS), 0 if it is
// gone.
func residentBytes(pid int) int64 { return procStatus(pid, "VmRSS") }

// procStatus returns a "kB" field of /proc/PID/status in bytes, 0 if it
// cannot be read.
func procStatus(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n << 10
		}
	}
	return 0
}

// tempBytes returns the size of the deleted regular files a process holds
// open: SQLite's temporary files, which it unlinks as soon as it opens them
// (a sorter's spill, a temporary index).
func tempBytes(pid int) int64 {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var total int64
	for _, e := range ents {
		fd := filepath.Join(dir, e.Name())
		target, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "/memfd:") || !strings.HasSuffix(target, " (deleted)") {
			continue
		}
		if fi, err := os.Stat(fd); err == nil && fi.Mode().IsRegular() {
			total += fi.Size()
		}
	}
	return total
}

// childResult is one finished child process.
type childResult struct {
	output   string
	killed   string
	err      error
	peakRSS  int64
	peakTemp int64
	elapsed  time.Duration
}

// runChild runs this test binary again with only the subtests matching
// pattern, in verbose mode, with env added, under the watchdog.
func runChild(t *testing.T, pattern string, env []string, limit time.Duration) childResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", pattern, "-test.v", "-test.count=1",
		"-test.parallel=1", "-test.timeout="+(limit+time.Minute).String())
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	w, err := watch(cmd, limit)
	if err != nil {
		t.Fatal(err)
	}
	w.wait()
	killed, rss, temp, werr := w.stats()
	return childResult{output: w.out.String(), killed: killed, err: werr, peakRSS: rss, peakTemp: temp, elapsed: time.Since(start)}
}

// failures returns the lines of a child's verbose output worth showing:
// its errors and logs, without the runner's bookkeeping.
func (r childResult) failures() string {
	var b strings.Builder
	for line := range strings.Lines(r.output) {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "=== "), strings.HasPrefix(trimmed, "--- PASS"),
			trimmed == "PASS", trimmed == "FAIL", trimmed == "":
			continue
		}
		b.WriteString(line)
	}
	return strings.TrimRight(b.String(), "\n")
}

// short cuts s to 2000 bytes.
func short(s string) string {
	if len(s) > 2000 {
		return s[:2000] + fmt.Sprintf("…(%d bytes)", len(s))
	}
	return s
}

// firstLines returns the first n lines of s.
func firstLines(s string, n int) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if n == 0 {
			b.WriteString("…\n")
			break
		}
		b.WriteString(line)
		n--
	}
	return b.String()
}

// diffLines returns the lines only before has, marked -, and those only
// after has, marked +: what changed between two dumps (DumpDatabase).
func diffLines(before, after string) string {
	count := map[string]int{}
	for line := range strings.Lines(before) {
		count[line]++
	}
	for line := range strings.Lines(after) {
		count[line]--
	}
	var b strings.Builder
	for line := range strings.Lines(before) {
		if count[line] > 0 {
			count[line]--
			b.WriteString("- " + line)
		}
	}
	for line := range strings.Lines(after) {
		if count[line] < 0 {
			count[line]++
			b.WriteString("+ " + line)
		}
	}
	return b.String()
}
