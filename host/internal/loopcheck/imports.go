package loopcheck

import "fmt"

// Import is one function a module imports.
type Import struct {
	Module, Name string
}

// Imports returns the functions the binary module wasm imports, in order,
// and whether it has a start section. It reads only the section list, the
// import section and the start section; Instrument checks the rest.
func Imports(wasm []byte) (imports []Import, hasStart bool, err error) {
	m, err := parseModule(wasm)
	if err != nil {
		return nil, false, err
	}
	for _, s := range m.sections {
		switch s.id {
		case secImport:
			if err := m.readImports(s.body, false); err != nil {
				return nil, false, fmt.Errorf("import section: %w", err)
			}
		case secStart:
			hasStart = true
		}
	}
	return m.funcImports, hasStart, nil
}
