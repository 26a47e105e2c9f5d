module github.com/ffwasmhost/ffwasmhost/plugins/extism

go 1.26.0

require (
	github.com/extism/go-pdk v1.1.3
	github.com/ffwasmhost/ffwasmhost v0.0.0
)

replace github.com/ffwasmhost/ffwasmhost => ../..
