package testutil

import "strings"

// HasLogLine reports whether a line of text names plugin (NamesPlugin) and
// contains sub.
func HasLogLine(text, plugin, sub string) bool {
	for line := range strings.Lines(text) {
		if NamesPlugin(line, plugin) && strings.Contains(line, sub) {
			return true
		}
	}
	return false
}

// NamesPlugin reports whether a log line has the attribute plugin=name (and
// not plugin=name_with_more), in slog's text format or, as
// "plugin":"name", in its JSON format.
func NamesPlugin(line, name string) bool {
	for _, attr := range []string{"plugin=" + name, `"plugin":"` + name + `"`} {
		for i := strings.Index(line, attr); i >= 0; {
			end := i + len(attr)
			if end == len(line) || line[end] == ' ' || line[end] == '\n' || line[end] == ',' || line[end] == '}' {
				return true
			}
			j := strings.Index(line[i+1:], attr)
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	return false
}
