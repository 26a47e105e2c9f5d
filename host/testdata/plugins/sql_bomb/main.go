// Command sql_bomb is an adversarial fixture: statements that read no table and make SQLite allocate without bound, in its heap (JSON aggregates over an endless recursive CTE) and in what it would spill to temporary files (an endless sort).
package main

import "github.com/ffwasmhost/ffwasmhost/host/testdata/plugins/attack"

func init() {
	attack.Register("sql_bomb", nil, nil,
		`SELECT length(a) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)
		 SELECT json_group_array(hex(zeroblob(500)) || x) AS a, json_group_array(x), json_group_array(x), json_group_array(x),
		        json_group_array(x), json_group_array(x), json_group_array(x), json_group_array(x) FROM c)`,
		`SELECT x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c ORDER BY hex(zeroblob(1000)) || x)`,
	)
}

func main() {}
