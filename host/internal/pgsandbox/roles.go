package pgsandbox

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultRolePrefix is the prefix of a plugin's role name:
// ffwasmhost_plugin_<name>.
const DefaultRolePrefix = "ffwasmhost_plugin_"

// maxIdentifier is PostgreSQL's identifier length (NAMEDATALEN - 1); a
// longer name is silently cut, so it is refused instead.
const maxIdentifier = 63

// Roles makes and names the plugins' login roles. The zero value is the
// default: DefaultRolePrefix, schema public.
type Roles struct {
	// Prefix of every role name. Default DefaultRolePrefix. Roles are
	// global to a PostgreSQL cluster: two deployments of ffwasmhost on one
	// cluster should use different prefixes.
	Prefix string
	// Schema that holds the plugins' tables. Default "public".
	Schema string
	// RevokePublicTemp also revokes TEMPORARY on the database from PUBLIC.
	// Every role holds it through PUBLIC by default, plugin roles too; the
	// statement check refuses all a plugin could create a temporary table
	// with, so this is defense in depth, and it changes what every other
	// role of the database may do: the operator decides.
	RevokePublicTemp bool
}

func (r Roles) withDefaults() Roles {
	if r.Prefix == "" {
		r.Prefix = DefaultRolePrefix
	}
	if r.Schema == "" {
		r.Schema = "public"
	}
	return r
}

var (
	pluginName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	tableName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	roleChars  = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

// Name returns the role of plugin: the prefix and the plugin's name. A name
// PostgreSQL would cut (over 63 bytes) is an error.
func (r Roles) Name(plugin string) (string, error) {
	r = r.withDefaults()
	if !pluginName.MatchString(plugin) {
		return "", fmt.Errorf("plugin name %q: want ^[a-z][a-z0-9_]{0,63}$", plugin)
	}
	if !roleChars.MatchString(r.Prefix) {
		return "", fmt.Errorf("role prefix %q: want lowercase letters, digits and _", r.Prefix)
	}
	role := r.Prefix + plugin
	if len(role) > maxIdentifier {
		return "", fmt.Errorf("role %s of plugin %s is %d bytes, over PostgreSQL's %d: shorten the plugin's name or the role prefix",
			role, plugin, len(role), maxIdentifier)
	}
	return role, nil
}

// RoleName is Roles{}.Name.
func RoleName(plugin string) (string, error) { return Roles{}.Name(plugin) }

// SQL returns the idempotent SQL that creates or updates plugin's role and
// its grants, for an operator to run in the plugin's database as a role
// that may create roles and grant on the tables, when the daemon may not:
//
//   - a LOGIN role, NOINHERIT, NOCREATEDB, NOCREATEROLE, no SUPERUSER,
//     REPLICATION or BYPASSRLS, member of no role, with no settings of its
//     own;
//   - CONNECT on the database and USAGE on the schema, nothing more (no
//     CREATE, and no TEMPORARY of its own);
//   - SELECT on each table in reads; SELECT, INSERT, UPDATE, DELETE on each
//     table in writes; every other privilege on the schema's tables,
//     sequences and functions revoked;
//   - EXECUTE on ffwasmhost_fence, if it exists, so the host can fence the
//     plugin's transactions on the plugin's connection.
//
// Table names are lowercased, as PostgreSQL folds unquoted names.
func (r Roles) SQL(plugin string, reads, writes []string) (string, error) {
	r = r.withDefaults()
	role, err := r.Name(plugin)
	if err != nil {
		return "", err
	}
	readT, writeT, err := tables(reads, writes)
	if err != nil {
		return "", fmt.Errorf("plugin %s: %w", plugin, err)
	}
	q := pgx.Identifier{role}.Sanitize()
	schema := pgx.Identifier{r.Schema}.Sanitize()
	lit := quoteLiteral(role)
	var b strings.Builder
	fmt.Fprintf(&b, "-- ffwasmhost: the role of plugin %s. Run it in the plugin's database as a role that\n", plugin)
	b.WriteString("-- may create roles and grant on these tables; running it again changes nothing.\n")
	fmt.Fprintf(&b, `DO $ffwasmhost$
DECLARE
    r text := %s;
    m record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
        BEGIN
            EXECUTE format('CREATE ROLE %%I LOGIN NOINHERIT', r);
        EXCEPTION WHEN duplicate_object THEN
            NULL; -- created meanwhile by another daemon
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r AND (rolsuper OR rolreplication OR rolbypassrls)) THEN
        EXECUTE format('ALTER ROLE %%I NOSUPERUSER NOREPLICATION NOBYPASSRLS', r);
    END IF;
    EXECUTE format('ALTER ROLE %%I LOGIN NOINHERIT NOCREATEDB NOCREATEROLE', r);
    EXECUTE format('ALTER ROLE %%I RESET ALL', r);
    EXECUTE format('ALTER ROLE %%I IN DATABASE %%I RESET ALL', r, current_database());
    FOR m IN SELECT g.rolname FROM pg_auth_members a
        JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles u ON u.oid = a.member
        WHERE u.rolname = r
    LOOP
        EXECUTE format('REVOKE %%I FROM %%I', m.rolname, r);
    END LOOP;
    EXECUTE format('REVOKE ALL ON DATABASE %%I FROM %%I', current_database(), r);
    EXECUTE format('GRANT CONNECT ON DATABASE %%I TO %%I', current_database(), r);
`, lit)
	if r.RevokePublicTemp {
		b.WriteString("    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());\n")
	}
	b.WriteString("END\n$ffwasmhost$;\n")
	for _, kind := range []string{"TABLES", "SEQUENCES", "FUNCTIONS"} {
		fmt.Fprintf(&b, "REVOKE ALL ON ALL %s IN SCHEMA %s FROM %s;\n", kind, schema, q)
	}
	fmt.Fprintf(&b, "REVOKE ALL ON SCHEMA %s FROM %s;\n", schema, q)
	fmt.Fprintf(&b, "GRANT USAGE ON SCHEMA %s TO %s;\n", schema, q)
	for _, t := range readT {
		fmt.Fprintf(&b, "GRANT SELECT ON TABLE %s.%s TO %s;\n", schema, pgx.Identifier{t}.Sanitize(), q)
	}
	for _, t := range writeT {
		fmt.Fprintf(&b, "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s.%s TO %s;\n", schema, pgx.Identifier{t}.Sanitize(), q)
	}
	fence := schema + ".ffwasmhost_fence(text, integer, bigint, timestamptz)"
	fmt.Fprintf(&b, `DO $ffwasmhost$
BEGIN
    IF to_regprocedure(%s) IS NOT NULL THEN
        GRANT EXECUTE ON FUNCTION %s TO %s;
    END IF;
END
$ffwasmhost$;
`, quoteLiteral(fence), fence, q)
	return b.String(), nil
}

// RoleSQL is Roles{}.SQL.
func RoleSQL(plugin string, reads, writes []string) (string, error) {
	return Roles{}.SQL(plugin, reads, writes)
}

// tables validates, lowercases and sorts the declared tables: a table in
// both lists is a write.
func tables(reads, writes []string) (readT, writeT []string, err error) {
	w := map[string]bool{}
	for _, t := range writes {
		if err := checkTable(t); err != nil {
			return nil, nil, err
		}
		w[strings.ToLower(t)] = true
	}
	r := map[string]bool{}
	for _, t := range reads {
		if err := checkTable(t); err != nil {
			return nil, nil, err
		}
		if !w[strings.ToLower(t)] {
			r[strings.ToLower(t)] = true
		}
	}
	readT, writeT = sortedKeys(r), sortedKeys(w)
	return readT, writeT, nil
}

func checkTable(t string) error {
	if !tableName.MatchString(t) || len(t) > maxIdentifier {
		return fmt.Errorf("table name %q: want ^[A-Za-z_][A-Za-z0-9_]*$, at most %d bytes", t, maxIdentifier)
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// quoteLiteral quotes s as a standard SQL string constant.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ErrInsufficientPrivilege is wrapped by Ensure when the admin connection
// may not create the role or grant on the tables: an operator must run
// SQL's output instead.
var ErrInsufficientPrivilege = errors.New("the admin connection may not create roles or grant on these tables; have an operator run the role SQL")

// Beginner begins a transaction: *pgxpool.Pool and *pgx.Conn are ones.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// rolesLockKey serializes Ensure calls on one database, so that daemons
// starting together do not trip over each other's grants.
var rolesLockKey = func() int64 {
	h := fnv.New64a()
	h.Write([]byte("ffwasmhost roles"))
	return int64(h.Sum64())
}()

// Ensure creates or updates plugin's role and grants, as SQL describes, on
// the admin connection, in one transaction. If the connection may not,
// the error wraps ErrInsufficientPrivilege and nothing is changed.
func (r Roles) Ensure(ctx context.Context, admin Beginner, plugin string, reads, writes []string) error {
	script, err := r.SQL(plugin, reads, writes)
	if err != nil {
		return fmt.Errorf("ensure role: %w", err)
	}
	r = r.withDefaults()
	role, _ := r.Name(plugin)
	err = pgx.BeginFunc(ctx, admin, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, rolesLockKey); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, script); err != nil { // no arguments: the simple protocol, several statements
			return err
		}
		// A GRANT on a table the admin neither owns nor may grant on only
		// warns: check that every privilege is there.
		return verifyGrants(ctx, tx, role, r.Schema, reads, writes)
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" || errors.Is(err, errMissingGrant) {
		return fmt.Errorf("ensure role %s: %w: %w", role, ErrInsufficientPrivilege, err)
	}
	if err != nil {
		return fmt.Errorf("ensure role %s: %w", role, err)
	}
	return nil
}

// errMissingGrant is a privilege Ensure granted but the role lacks.
var errMissingGrant = errors.New("a grant did not take")

// verifyGrants checks that role has every privilege its declaration asks.
func verifyGrants(ctx context.Context, tx pgx.Tx, role, schema string, reads, writes []string) error {
	readT, writeT, _ := tables(reads, writes)
	check := func(table, priv string) error {
		var ok bool
		err := tx.QueryRow(ctx, `SELECT has_table_privilege($1, format('%I.%I', $2::text, $3::text), $4)`,
			role, schema, table, priv).Scan(&ok)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s lacks %s on %s.%s (may the admin grant on it?)", errMissingGrant, role, priv, schema, table)
		}
		return nil
	}
	for _, t := range readT {
		if err := check(t, "SELECT"); err != nil {
			return err
		}
	}
	for _, t := range writeT {
		for _, p := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
			if err := check(t, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// EnsureRole is Roles{}.Ensure.
func EnsureRole(ctx context.Context, admin Beginner, plugin string, reads, writes []string) error {
	return Roles{}.Ensure(ctx, admin, plugin, reads, writes)
}
