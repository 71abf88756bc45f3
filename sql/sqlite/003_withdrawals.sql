-- coldpool schema 003, SQLite: withdrawal review and the audit chain's head.
-- Operator-only tables: the web account must never write them (sql/README.md).

-- The fingerprint of every request the first time the operator tool read it
-- ("changed since first seen"), and the reason when it was found invalid.
CREATE TABLE IF NOT EXISTS withdrawal_seen (
  withdrawal_id INTEGER PRIMARY KEY,
  fingerprint   TEXT    NOT NULL,
  content       TEXT    NOT NULL,
  seen_at       TEXT    NOT NULL,
  seen_by       TEXT    NOT NULL
);

-- One row per operator approval; two approvals need two different operators.
CREATE TABLE IF NOT EXISTS withdrawal_approvals (
  withdrawal_id   INTEGER NOT NULL,
  operator        TEXT    NOT NULL,
  approved_at     TEXT    NOT NULL,
  override_changed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (withdrawal_id, operator)
);

-- The last entry of audit_log, locked by every append so the chain never forks.
CREATE TABLE IF NOT EXISTS audit_head (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  seq  INTEGER NOT NULL,
  hash TEXT    NOT NULL
);
INSERT OR IGNORE INTO audit_head (id, seq, hash)
  SELECT 1, COALESCE(MAX(seq), 0), COALESCE((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '0000000000000000000000000000000000000000000000000000000000000000') FROM audit_log;

CREATE INDEX IF NOT EXISTS ix_withdrawals_destination ON withdrawals (destination, user_id);
