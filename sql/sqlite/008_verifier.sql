-- coldpool schema 008, SQLite: what the web database shares with the
-- verifier. Never edit after it shipped; add 009_*.sql. See
-- sql/mysql/008_verifier.sql and sql/README.md ("The verifier").

-- The users' email addresses as the web app knows them; a web app with a
-- users table of its own replaces the view with one over that table.
CREATE TABLE IF NOT EXISTS user_emails (
  user_id TEXT PRIMARY KEY,
  email   TEXT NOT NULL
);
CREATE VIEW IF NOT EXISTS coldpool_user_emails AS SELECT user_id, email FROM user_emails;

-- Confirmation tokens the web app relayed when the user clicked the emailed link.
CREATE TABLE IF NOT EXISTS withdrawal_confirmations (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  withdrawal_id INTEGER NOT NULL,
  token         TEXT    NOT NULL,
  relayed_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The verifier's signed testimony; a row counts only when its signature
-- verifies under the verifier key of the reader's trust file.
CREATE TABLE IF NOT EXISTS attestations (
  withdrawal_id INTEGER NOT NULL,
  key_id        TEXT    NOT NULL CHECK (length(key_id) = 16),
  content       TEXT    NOT NULL,
  signature     TEXT    NOT NULL CHECK (length(signature) = 128),
  attested_at   TEXT    NOT NULL,
  PRIMARY KEY (withdrawal_id, signature)
);
