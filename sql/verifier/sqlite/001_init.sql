-- coldpool verifier schema 001, SQLite: the verifier's OWN database, on its
-- own machine. Never edit after it shipped; add 002_*.sql. Times are
-- ISO-8601 UTC text. See sql/verifier/mysql/001_init.sql for the comments.

CREATE TABLE IF NOT EXISTS mirror_users (
  user_id       TEXT PRIMARY KEY,
  email         TEXT NOT NULL,
  first_seen_at TEXT NOT NULL,
  changed_at    TEXT NULL,
  hold_until    TEXT NULL,
  missing_since TEXT NULL
);

CREATE TABLE IF NOT EXISTS email_changes (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id    TEXT NOT NULL,
  old_email  TEXT NOT NULL,
  new_email  TEXT NOT NULL,
  noticed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_email_changes_user ON email_changes (user_id, id);

CREATE TABLE IF NOT EXISTS requests (
  withdrawal_id    INTEGER PRIMARY KEY,
  user_id          TEXT    NOT NULL,
  fingerprint      TEXT    NOT NULL CHECK (length(fingerprint) = 64),
  content          TEXT    NULL,
  first_seen_at    TEXT    NOT NULL,
  state            TEXT    NOT NULL CHECK (state IN ('waiting', 'new', 'sending', 'sent', 'confirmed', 'attested', 'changed', 'locked', 'expired', 'closed', 'unpayable')),
  token_hash       TEXT    NULL CHECK (token_hash IS NULL OR length(token_hash) = 64),
  superseded_hashes TEXT    NULL,
  token_expires_at TEXT    NULL,
  token_sent_at    TEXT    NULL,
  tokens_issued    INTEGER NOT NULL DEFAULT 0,
  wrong_tokens     INTEGER NOT NULL DEFAULT 0,
  confirmed_at     TEXT    NULL,
  attested_at      TEXT    NULL,
  signature        TEXT    NULL,
  published_at     TEXT    NULL,
  note             TEXT    NULL
);
CREATE INDEX IF NOT EXISTS ix_requests_state ON requests (state, withdrawal_id);
CREATE INDEX IF NOT EXISTS ix_requests_user ON requests (user_id);

CREATE TABLE IF NOT EXISTS outbox (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  kind       TEXT    NOT NULL,
  recipient  TEXT    NULL,
  subject    TEXT    NOT NULL,
  body       TEXT    NOT NULL,
  facts      TEXT    NOT NULL,
  created_at TEXT    NOT NULL,
  sent_at    TEXT    NULL,
  attempts   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_outbox_pending ON outbox (sent_at, id);

-- Every relayed token the verifier judged (by the web row's id; never the token).
CREATE TABLE IF NOT EXISTS relays (
  relay_id      INTEGER PRIMARY KEY,
  withdrawal_id INTEGER NOT NULL,
  outcome       TEXT    NOT NULL,
  judged_at     TEXT    NOT NULL
);

CREATE TABLE IF NOT EXISTS cursors (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);

-- What the verifier decided and why (never a token): a signed, hash-chained audit log.
CREATE TABLE IF NOT EXISTS audit_log (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  at         TEXT    NOT NULL,
  actor      TEXT    NOT NULL,
  action     TEXT    NOT NULL,
  subject    TEXT    NOT NULL,
  data       TEXT    NOT NULL,
  prev_hash  TEXT    NOT NULL,
  hash       TEXT    NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS ix_audit_log_subject ON audit_log (subject, seq);
CREATE TABLE IF NOT EXISTS audit_head (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  seq  INTEGER NOT NULL,
  hash TEXT    NOT NULL
);
INSERT OR IGNORE INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TABLE IF NOT EXISTS audit_signatures (
  seq        INTEGER PRIMARY KEY REFERENCES audit_log (seq),
  key_id     TEXT    NOT NULL CHECK (length(key_id) = 16),
  signature  TEXT    NOT NULL CHECK (length(signature) = 128)
);
