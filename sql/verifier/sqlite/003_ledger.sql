-- coldpool verifier schema 003, SQLite: the verifier's mirror of the web
-- app's ledger and its standing findings. Never edit after it shipped; add
-- 004_*.sql. See sql/verifier/mysql/003_ledger.sql for the comments.
CREATE TABLE IF NOT EXISTS ledger_entries (
  entry_id      INTEGER PRIMARY KEY,
  user_id       TEXT    NOT NULL,
  amount_sat    INTEGER NOT NULL,
  kind          TEXT    NOT NULL,
  ref           TEXT    NULL,
  created_at    TEXT    NOT NULL,
  fingerprint   TEXT    NOT NULL CHECK (length(fingerprint) = 64),
  first_seen_at TEXT    NOT NULL,
  late          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_ledger_entries_user ON ledger_entries (user_id, amount_sat);
CREATE INDEX IF NOT EXISTS ix_ledger_entries_ref ON ledger_entries (ref);

CREATE TABLE IF NOT EXISTS ledger_findings (
  finding_key   TEXT PRIMARY KEY,
  kind          TEXT NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('suspect', 'open')),
  signature     TEXT NOT NULL,
  user_id       TEXT NULL,
  detail        TEXT NOT NULL,
  first_seen_at TEXT NOT NULL,
  changed_at    TEXT NOT NULL
);
