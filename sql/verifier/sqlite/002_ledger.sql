-- coldpool verifier schema 002, SQLite: the verifier's own record of who
-- holds which address, its own chain view, and the notes it publishes.
-- Never edit after it shipped; add 003_*.sql. See
-- sql/verifier/mysql/002_ledger.sql for the comments.

CREATE TABLE IF NOT EXISTS pool_accounts (
  id             INTEGER PRIMARY KEY,
  key_id         TEXT    NOT NULL,
  descriptor     TEXT    NOT NULL,
  network        TEXT    NOT NULL,
  is_primary     INTEGER NOT NULL DEFAULT 0,
  pinned_at      TEXT    NOT NULL,
  web_descriptor TEXT    NOT NULL
);

CREATE TABLE IF NOT EXISTS address_batches (
  id          INTEGER PRIMARY KEY,
  account_id  INTEGER NOT NULL,
  chain       INTEGER NOT NULL,
  first_index INTEGER NOT NULL,
  count       INTEGER NOT NULL,
  created     TEXT    NOT NULL,
  seen_at     TEXT    NOT NULL
);

CREATE TABLE IF NOT EXISTS addresses (
  id             INTEGER PRIMARY KEY,
  address        TEXT    NOT NULL UNIQUE,
  account_id     INTEGER NOT NULL,
  chain          INTEGER NOT NULL,
  idx            INTEGER NOT NULL,
  status         TEXT    NOT NULL,
  user_id        TEXT    NULL,
  assigned_at    TEXT    NULL,
  used_at        TEXT    NULL,
  first_seen_at  TEXT    NOT NULL,
  owner_seen_at  TEXT    NULL,
  web_address    TEXT    NOT NULL,
  web_user_id    TEXT    NULL,
  web_status     TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_addresses_user ON addresses (user_id);

CREATE TABLE IF NOT EXISTS address_rejects (
  id          INTEGER PRIMARY KEY,
  address     TEXT    NOT NULL,
  account_id  INTEGER NOT NULL,
  chain       INTEGER NOT NULL,
  idx         INTEGER NOT NULL,
  user_id     TEXT    NULL,
  reason      TEXT    NOT NULL,
  seen_at     TEXT    NOT NULL
);

CREATE TABLE IF NOT EXISTS chain_blocks (
  height      INTEGER NOT NULL PRIMARY KEY CHECK (height >= 0),
  hash        TEXT    NOT NULL UNIQUE,
  prev_hash   TEXT    NOT NULL,
  time        INTEGER NOT NULL,
  synced_at   TEXT    NOT NULL
);

CREATE TABLE IF NOT EXISTS chain_outputs (
  txid          TEXT    NOT NULL,
  vout          INTEGER NOT NULL CHECK (vout >= 0),
  value_sat     INTEGER NOT NULL CHECK (value_sat >= 0),
  script        TEXT    NOT NULL,
  address       TEXT    NOT NULL,
  account_id    INTEGER NOT NULL,
  chain         INTEGER NOT NULL CHECK (chain IN (0, 1)),
  idx           INTEGER NOT NULL CHECK (idx >= 0),
  height        INTEGER NULL,
  block_hash    TEXT    NULL,
  spent_txid    TEXT    NULL,
  spent_height  INTEGER NULL,
  PRIMARY KEY (txid, vout)
);
CREATE INDEX IF NOT EXISTS ix_chain_outputs_height ON chain_outputs (height);
CREATE INDEX IF NOT EXISTS ix_chain_outputs_spent_height ON chain_outputs (spent_height);
CREATE INDEX IF NOT EXISTS ix_chain_outputs_address ON chain_outputs (address);

CREATE TABLE IF NOT EXISTS chain_dropped (
  id          INTEGER PRIMARY KEY,
  txid        TEXT    NOT NULL,
  vout        INTEGER NOT NULL,
  address     TEXT    NOT NULL,
  value_sat   INTEGER NOT NULL,
  height      INTEGER NOT NULL,
  block_hash  TEXT    NOT NULL,
  dropped_at  TEXT    NOT NULL
);

CREATE TABLE IF NOT EXISTS payout_outputs (
  withdrawal_id INTEGER PRIMARY KEY,
  txid          TEXT    NOT NULL,
  vout          INTEGER NOT NULL,
  height        INTEGER NOT NULL,
  block_hash    TEXT    NOT NULL,
  UNIQUE (txid, vout)
);
CREATE TABLE IF NOT EXISTS spends_examined (
  txid        TEXT    NOT NULL,
  block_hash  TEXT    NOT NULL,
  PRIMARY KEY (txid, block_hash)
);

CREATE TABLE IF NOT EXISTS web_notes (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  withdrawal_id INTEGER NOT NULL,
  note          TEXT    NOT NULL,
  noted_at      TEXT    NOT NULL,
  published_at  TEXT    NULL
);
CREATE INDEX IF NOT EXISTS ix_web_notes_pending ON web_notes (published_at, id);
