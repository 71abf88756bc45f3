-- coldpool schema 011, SQLite: the web app's ledger, as it publishes it to
-- the verifier. Never edit after it shipped; add 012_*.sql. See
-- sql/mysql/011_ledger.sql for the comments and sql/README.md ("The ledger
-- views"). amount_sat is signed satoshis (credits positive, debits negative).
CREATE TABLE IF NOT EXISTS ledger_entries (
  entry_id    INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id     TEXT    NOT NULL,
  amount_sat  INTEGER NOT NULL,
  kind        TEXT    NOT NULL,
  ref         TEXT    NULL,
  created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS ix_ledger_entries_user ON ledger_entries (user_id, entry_id);
CREATE INDEX IF NOT EXISTS ix_ledger_entries_ref ON ledger_entries (ref);

CREATE TABLE IF NOT EXISTS ledger_balances (
  user_id     TEXT    PRIMARY KEY,
  balance_sat INTEGER NOT NULL
);

CREATE VIEW IF NOT EXISTS coldpool_ledger AS SELECT entry_id, user_id, amount_sat, kind, ref, created_at FROM ledger_entries;
CREATE VIEW IF NOT EXISTS coldpool_balances AS SELECT user_id, balance_sat FROM ledger_balances;
