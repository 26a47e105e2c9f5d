// Command guest is the Go guest of the loopcheck benchmarks: call-heavy
// work of the kinds a reconciler does, exported as functions that take a
// size and return a checksum.
package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

func main() {}

//go:noinline
func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

// Fib is naive recursive Fibonacci: nearly all calls.
//
//go:wasmexport fib
func Fib(n int32) int64 { return int64(fib(int(n))) }

type row struct {
	ID     int64   `json:"id"`
	Name   string  `json:"name"`
	Amount float64 `json:"amount"`
	Tags   []string
}

// JSON encodes and decodes n rows.
//
//go:wasmexport json
func JSON(n int32) int64 {
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{ID: int64(i), Name: fmt.Sprintf("row-%d", i), Amount: float64(i) * 1.5, Tags: []string{"a", "b"}}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		panic(err)
	}
	var back []row
	if err := json.Unmarshal(b, &back); err != nil {
		panic(err)
	}
	return int64(len(b) + len(back))
}

// Sort sorts n strings built with a strings.Builder.
//
//go:wasmexport sort
func Sort(n int32) int64 {
	s := make([]string, n)
	for i := range s {
		var sb strings.Builder
		fmt.Fprintf(&sb, "%08x-%d", uint32(i)*2654435761, i)
		s[i] = sb.String()
	}
	sort.Strings(s)
	return int64(len(s[0]))
}
