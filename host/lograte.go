package host

import "time"

// logRate limits a plugin's log over time, across ticks: a token bucket of
// lines and one of bytes, each refilled at its rate per second up to its
// burst. The per-tick cap (MaxLogLines) bounds one tick; this bounds a
// plugin that ticks often.
type logRate struct {
	lines, bytes bucket
}

// bucket is a token bucket; the zero value refuses everything.
type bucket struct {
	tokens, rate, burst float64
	last                time.Time
}

func newLogRate(lim Limits, now time.Time) *logRate {
	linesBurst := float64(max(lim.MaxLogLines, lim.LogLinesPerSecond))
	bytesBurst := float64(max(4*lim.LogBytesPerSecond, int64(lim.MaxOutputBytes)))
	return &logRate{
		lines: bucket{tokens: linesBurst, rate: float64(lim.LogLinesPerSecond), burst: linesBurst, last: now},
		bytes: bucket{tokens: bytesBurst, rate: float64(lim.LogBytesPerSecond), burst: bytesBurst, last: now},
	}
}

// allow reports whether a line of n bytes may be logged at now, and takes
// its tokens if so.
func (l *logRate) allow(now time.Time, n int) bool {
	l.lines.refill(now)
	l.bytes.refill(now)
	if l.lines.tokens < 1 || l.bytes.tokens < float64(n) {
		return false
	}
	l.lines.tokens--
	l.bytes.tokens -= float64(n)
	return true
}

func (b *bucket) refill(now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.burst, b.tokens+d.Seconds()*b.rate)
		b.last = now
	}
}
