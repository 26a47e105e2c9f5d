// Package pgsandbox is the plugin sandbox on PostgreSQL, the twin of the
// SQLite session and authorizer: a Session per plugin that runs the
// plugin's SQL statements (SQL text and wire-encoded arguments, as the
// ABI's sql_exec and sql_query carry them), its transactions, and the
// cleanup after every tick.
//
// PostgreSQL has no authorizer callback, so the sandbox is PostgreSQL
// itself, in three layers:
//
//  1. The role. Each plugin connects as its own login role,
//     ffwasmhost_plugin_<name> (Roles.Name), granted exactly its declared
//     tables: SELECT on reads; SELECT, INSERT, UPDATE, DELETE on writes;
//     USAGE on the schema; CONNECT on the database; EXECUTE on the host's
//     fence function; nothing else. It is no superuser, has no CREATEROLE,
//     CREATEDB, REPLICATION or BYPASSRLS, inherits nothing and is a
//     member of no role, so SET ROLE, SET SESSION AUTHORIZATION and
//     set_config('role', ...) fail on the server whatever the plugin
//     sends. Ensure creates or updates the role when the admin connection
//     may; SQL prints the same, idempotent, for an operator when it may
//     not. Open refuses to run a plugin as a role that is not fit.
//  2. The statement check, before anything is prepared: a lexer that reads
//     PostgreSQL's SQL as the server does (strings, E'...' strings, dollar
//     quotes, nested comments, quoted identifiers, string continuations)
//     lets through one statement only, starting with SELECT, WITH, INSERT,
//     UPDATE, DELETE, VALUES or TABLE, without SELECT ... INTO, and without
//     the names a role can still reach that plugins must not: set_config,
//     current_setting, advisory locks, large objects, dblink and
//     postgres_fdw, the catalogs and pg_ functions but a few harmless ones
//     (pg_sleep, pg_typeof, ...), SQL-text executors (query_to_xml,
//     ts_stat, ...) and the host's own ffwasmhost_ objects. Everything else
//     (SET, RESET, transaction control, COPY, DO, LISTEN, NOTIFY, PREPARE,
//     EXECUTE, DDL, VACUUM, CALL, LOCK, ...) is refused as not_authorized,
//     naming the keyword or name. Statements go through the extended
//     protocol, which refuses several statements in one text anyway.
//  3. The client. The tick's context cancels a running statement on the
//     server (a cancel request, then the connection closed if the server
//     does not stop within Options.CancelGrace), whatever statement_timeout
//     is set; a result row larger than Options.MaxMessageBytes is refused
//     before it is read; and EndTick, after every tick, rolls back what the
//     plugin left open and resets the session (RESET ALL, the role, the
//     session authorization, cursors, LISTEN, advisory locks, temporary
//     tables, sequence state: DISCARD ALL but the host's prepared
//     statements), so nothing a plugin did survives its tick.
//
// Values. Arguments bind as their wire type: int as bigint, float as
// double precision, text as text, blob as bytea; a NULL's type is inferred
// by the server from the statement (cast it, $1::bigint, where it cannot
// be). Results map so: integers and oid to int, boolean
// to int 0 or 1, real and double precision to float, numeric to int when
// integral and within int64 (so sum() of bigints reads as on SQLite), else
// float, bytea to blob, text[] (FlowFabric's lanes) to its elements joined
// by commas, and every other type to text in PostgreSQL's output format.
//
// Transactions. Begin runs BEGIN at the session's isolation
// (Options.Isolation; budget_reset needs SERIALIZABLE). A statement that
// fails inside a transaction aborts it on PostgreSQL: later statements fail
// (other) until the plugin rolls back. A commit that fails ends the
// transaction on PostgreSQL too; for the ABI it stays open, doomed, until
// tx_rollback, which is what the ABI's "a failed commit leaves the
// transaction open" maps to. Serialization failures, deadlocks and lock
// timeouts are busy, as SQLite's BUSY.
//
// The full description, with the schema, the leases and the trade-offs,
// is docs/postgres.md.
package pgsandbox
