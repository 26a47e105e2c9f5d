-- The reconciler tables, exactly as FlowFabric's SQLite backend names them
-- (its migrations create the same tables and columns). Every statement is
-- IF NOT EXISTS: on a database FlowFabric created, nothing is dropped,
-- recreated or rewritten.

CREATE TABLE IF NOT EXISTS ff_budget_policy (
    partition_key      INTEGER NOT NULL,
    budget_id          TEXT    NOT NULL,
    policy_json        TEXT    NOT NULL,
    created_at_ms      INTEGER NOT NULL,
    updated_at_ms      INTEGER NOT NULL,
    scope_type         TEXT    NOT NULL DEFAULT '',
    scope_id           TEXT    NOT NULL DEFAULT '',
    enforcement_mode   TEXT    NOT NULL DEFAULT '',
    breach_count       INTEGER NOT NULL DEFAULT 0,
    soft_breach_count  INTEGER NOT NULL DEFAULT 0,
    last_breach_at_ms  INTEGER,
    last_breach_dim    TEXT,
    next_reset_at_ms   INTEGER,
    PRIMARY KEY (partition_key, budget_id)
);

CREATE INDEX IF NOT EXISTS ff_budget_policy_reset_due_idx
    ON ff_budget_policy (partition_key, next_reset_at_ms)
    WHERE next_reset_at_ms IS NOT NULL;

CREATE TABLE IF NOT EXISTS ff_budget_usage (
    partition_key     INTEGER NOT NULL,
    budget_id         TEXT    NOT NULL,
    dimensions_key    TEXT    NOT NULL,
    current_value     INTEGER NOT NULL DEFAULT 0,
    last_reset_at_ms  INTEGER,
    updated_at_ms     INTEGER NOT NULL,
    PRIMARY KEY (partition_key, budget_id, dimensions_key)
);

CREATE TABLE IF NOT EXISTS ff_worker_registry (
    namespace           TEXT    NOT NULL,
    worker_instance_id  TEXT    NOT NULL,
    worker_id           TEXT    NOT NULL,
    lanes               TEXT    NOT NULL,
    capabilities_csv    TEXT    NOT NULL,
    last_heartbeat_ms   INTEGER NOT NULL,
    liveness_ttl_ms     INTEGER NOT NULL,
    registered_at_ms    INTEGER NOT NULL,
    PRIMARY KEY (namespace, worker_instance_id)
);

CREATE TABLE IF NOT EXISTS ff_worker_registry_event (
    namespace           TEXT    NOT NULL,
    worker_instance_id  TEXT    NOT NULL,
    event_kind          TEXT    NOT NULL,
    event_at_ms         INTEGER NOT NULL,
    reason              TEXT,
    PRIMARY KEY (namespace, worker_instance_id, event_at_ms, event_kind)
);
