// Package hostile holds a corpus of hand-written WebAssembly modules built
// to break the host's sandbox (testdata/*.wat, assembled beside each as
// .wasm) and checks, module by module, that it holds: the modules the Go
// compiler never emits, such as code that writes the globals the host
// injects, recursion without loops, start functions that never return or
// transactions left open in every way.
//
// The expectation table (corpus, table_test.go) says what each module
// attacks and what must happen to it. TestCorpusListed and
// TestCorpusAssembles keep the table, the .wat sources and the committed
// .wasm files in step.
package hostile
