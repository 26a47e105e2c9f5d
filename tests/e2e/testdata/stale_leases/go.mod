module example.com/stale_leases

go 1.26.0

require github.com/ffwasmhost/ffwasmhost v0.0.0

replace github.com/ffwasmhost/ffwasmhost => ../../../..
