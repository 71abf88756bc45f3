-- coldpool schema 002, SQLite: the low-water watcher's memory (`coldpool watch`).
-- One row per watched subject ('pool'): the level of the last check and when
-- the last low alert went out, so a restarted watcher never re-sends. Every
-- save bumps revision (compare-and-set), so two watchers never both send.
-- Never edit after it shipped; add 003_*.sql.

CREATE TABLE IF NOT EXISTS watcher_state (
  subject        TEXT    NOT NULL PRIMARY KEY,
  level          TEXT    NOT NULL CHECK (level IN ('ok', 'warning', 'critical')),
  last_alert_at  TEXT    NULL,
  last_count     INTEGER NOT NULL,
  checked_at     TEXT    NOT NULL,
  revision       INTEGER NOT NULL
);

-- The claim rate of `pool check` / `watch`: addresses handed out in the last 7 days.
CREATE INDEX IF NOT EXISTS ix_addresses_assigned_at ON addresses (assigned_at);
