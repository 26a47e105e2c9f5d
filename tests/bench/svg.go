package main

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strings"
)

// bar is one horizontal bar of the chart.
type bar struct {
	label string
	value float64
	color string
	note  string
}

const (
	colNative   = "#4e79a7" // wasm / native
	colPrepared = "#f28e2b" // wasm / native_prepared
	colTarget   = "#59a14f" // measured / target, met
	colMissed   = "#e15759" // measured / target, missed
)

// chartSVG draws two panels of horizontal bars: wasm/native per scenario,
// against both baselines, with lines at 1.0 and at the 1.10 target; and
// each absolute target's measured/limit, with a line at 1.0.
func (r *Results) chartSVG() []byte {
	var ratios []bar
	for _, s := range r.Scenarios {
		label := s.Name
		if strings.HasPrefix(s.Name, "idle_") {
			label += " p50"
		}
		ratios = append(ratios,
			bar{label + " vs native", s.Ratio, colNative, fmt.Sprintf("%.2fx", s.Ratio)},
			bar{label + " vs native_prepared", s.RatioPrepared, colPrepared, fmt.Sprintf("%.2fx", s.RatioPrepared)})
	}
	var budget []bar
	for _, t := range r.Targets {
		if t.Unit == "x" {
			continue // the ratios are in the first panel
		}
		c := colTarget
		if !t.Met {
			c = colMissed
		}
		budget = append(budget, bar{t.Name, t.Value / t.Limit, c, fmt.Sprintf("%s / %s %s", num(t.Value), num(t.Limit), t.Unit)})
	}

	const (
		width  = 900
		labelW = 330
		plotW  = 430
		rowH   = 20
		top    = 58
	)
	var b bytes.Buffer
	y := top
	panel := func(title, axis string, bars []bar, lines []float64, limit float64, paired bool) {
		maxV := 1.2
		for _, x := range bars {
			maxV = math.Max(maxV, x.value)
		}
		// The axis stops at limit: a bar past it is drawn to the edge and
		// marked, its value written beside it.
		maxV = math.Min(niceCeil(maxV), limit)
		scale := func(v float64) float64 { return labelW + plotW*math.Min(math.Max(0, v), maxV)/maxV }
		fmt.Fprintf(&b, `<text x="10" y="%d" font-size="15" font-weight="bold">%s</text>`+"\n", y, html.EscapeString(title))
		y += 16
		y0 := y
		for i, x := range bars {
			yy := y0 + i*rowH
			if paired && i%4 == 0 { // shade every other scenario's pair of bars
				fmt.Fprintf(&b, `<rect x="5" y="%d" width="%d" height="%d" fill="#f3f3f3"/>`+"\n", yy, width-10, 2*rowH)
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>`+"\n", labelW-6, yy+14, html.EscapeString(x.label))
			w := scale(x.value) - labelW
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelW, yy+3, w, rowH-6, x.color)
			if x.value > maxV {
				fmt.Fprintf(&b, `<path d="M%.1f %d l6 %d l-6 %d z" fill="%s"/>`+"\n", scale(maxV), yy+3, (rowH-6)/2, (rowH-6)/2, x.color)
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11">%s</text>`+"\n", scale(x.value)+10, yy+14, html.EscapeString(x.note))
		}
		y1 := y0 + len(bars)*rowH
		for i, l := range lines {
			ty := y1 + 12 // the first line is labelled below the plot, the others above
			if i > 0 {
				ty = y0 - 1
			}
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333" stroke-dasharray="4,3"/>`+"\n", scale(l), y0, scale(l), y1)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="start">%g</text>`+"\n", scale(l)+2, ty, l)
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", labelW, y0, labelW, y1)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" text-anchor="middle">0</text>`+"\n", labelW, y1+12)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" text-anchor="end">%g</text>`+"\n", labelW+plotW, y1+12, maxV)
		fmt.Fprintf(&b, `<text x="10" y="%d" font-size="11" fill="#555">%s</text>`+"\n", y1+28, html.EscapeString(axis))
		y = y1 + 56
	}
	panel("wasm / native per scenario (lower is better; target <= 1.10 for drain and sweep)",
		"blue: vs native (SQL text per call); orange: vs native_prepared (statements prepared once); axis cut at 6x", ratios, []float64{1, 1.1}, 6, true)
	panel("absolute targets: measured / limit (<= 1 meets the target)",
		"green: met; red: missed; axis cut at 10x", budget, []float64{1}, 10, false)

	var out bytes.Buffer
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif">`+"\n", width, y, width, y)
	fmt.Fprintf(&out, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&out, `<text x="10" y="22" font-size="17" font-weight="bold">ffwasmhost: wasm plugins vs native Go</text>`+"\n")
	fmt.Fprintf(&out, `<text x="10" y="40" font-size="11" fill="#555">%s</text>`+"\n", html.EscapeString(fmt.Sprintf(
		"%s, %d CPU, %s, commit %s, %s; medians of %d runs; WAL + synchronous=NORMAL",
		r.Machine.CPU, r.Machine.NumCPU, r.Machine.GoVersion, r.Machine.Commit, r.Machine.Date[:10], r.Settings.Runs)))
	out.Write(b.Bytes())
	out.WriteString("</svg>\n")
	return out.Bytes()
}

// niceCeil rounds v up to 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*p >= v*1.02 {
			return m * p
		}
	}
	return 10 * p
}
