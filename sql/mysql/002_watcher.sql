-- coldpool schema 002, MySQL 8 / MariaDB 10.6+: the low-water watcher's memory
-- (`coldpool watch`). One row per watched subject ('pool'): the level of the
-- last check and when the last low alert went out, so a restarted watcher
-- never re-sends. Every save bumps revision (compare-and-set), so two watchers
-- never both send. Never edit after it shipped; add 003_*.sql.

-- The claim rate of `pool check` / `watch`: addresses handed out in the last 7 days.
-- First: MySQL 8 has no CREATE INDEX IF NOT EXISTS, so it runs before the
-- idempotent CREATE TABLE (a run stopped after it is rare and needs DROP INDEX).
CREATE INDEX ix_addresses_assigned_at ON addresses (assigned_at);

CREATE TABLE IF NOT EXISTS watcher_state (
  subject        VARCHAR(64) NOT NULL,
  level          VARCHAR(8)  NOT NULL,
  last_alert_at  DATETIME(3) NULL,
  last_count     BIGINT      NOT NULL,
  checked_at     DATETIME(3) NOT NULL,
  revision       BIGINT      NOT NULL,
  PRIMARY KEY (subject),
  CONSTRAINT ck_watcher_state_level CHECK (level IN ('ok', 'warning', 'critical'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
