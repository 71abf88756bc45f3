-- coldpool schema 001, SQLite 3.35+ (better-sqlite3).
-- Applied by `coldpool db migrate`, recorded in schema_migrations (version +
-- sha256 of this file): never edit this file after it shipped; add 002_*.sql.
-- Times are ISO-8601 UTC text; amounts and ids are INTEGER (64-bit, read as bigint).

CREATE TABLE IF NOT EXISTS pool_accounts (
  id          INTEGER PRIMARY KEY,
  key_id      TEXT    NOT NULL UNIQUE,
  descriptor  TEXT    NOT NULL,
  network     TEXT    NOT NULL,
  is_primary  INTEGER NOT NULL DEFAULT 0,
  pinned_at   TEXT    NOT NULL
);

CREATE TABLE IF NOT EXISTS address_batches (
  id          INTEGER PRIMARY KEY,
  account_id  INTEGER NOT NULL REFERENCES pool_accounts (id),
  descriptor  TEXT    NOT NULL,
  network     TEXT    NOT NULL,
  chain       INTEGER NOT NULL CHECK (chain IN (0, 1)),
  first_index INTEGER NOT NULL CHECK (first_index >= 0),
  count       INTEGER NOT NULL CHECK (count >= 1),
  digest      TEXT    NOT NULL UNIQUE,
  created     TEXT    NOT NULL,
  loaded_at   TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_address_batches_range ON address_batches (account_id, chain, first_index);

-- slot = idx % 64 on the receive chain, NULL on the change chain (never handed
-- out); the same layout as MySQL so both stores hand out in the same order.
CREATE TABLE IF NOT EXISTS addresses (
  id          INTEGER PRIMARY KEY,
  address     TEXT    NOT NULL UNIQUE,
  batch_id    INTEGER NOT NULL REFERENCES address_batches (id),
  account_id  INTEGER NOT NULL,
  chain       INTEGER NOT NULL CHECK (chain IN (0, 1)),
  idx         INTEGER NOT NULL CHECK (idx >= 0),
  slot        INTEGER NULL CHECK (slot IS NULL OR (slot >= 0 AND slot < 64)),
  status      TEXT    NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'assigned', 'used')),
  user_id     TEXT    NULL,
  ref         TEXT    NULL UNIQUE,
  assigned_at TEXT    NULL,
  used_at     TEXT    NULL,
  claim_id    INTEGER NULL,
  UNIQUE (account_id, chain, idx)
);
CREATE INDEX IF NOT EXISTS ix_addresses_claim ON addresses (status, slot, idx);
CREATE INDEX IF NOT EXISTS ix_addresses_batch ON addresses (batch_id);

CREATE TABLE IF NOT EXISTS withdrawals (
  id           INTEGER PRIMARY KEY,
  app_id       TEXT    NOT NULL UNIQUE,
  user_id      TEXT    NOT NULL,
  destination  TEXT    NOT NULL,
  amount_sat   INTEGER NOT NULL CHECK (amount_sat > 0 AND amount_sat <= 2100000000000000),
  status       TEXT    NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'approved', 'rejected', 'in_payout', 'broadcast', 'confirmed', 'failed', 'cancelled', 'invalid')),
  created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at   TEXT    NULL,
  reviewer     TEXT    NULL,
  reason       TEXT    NULL,
  decided_at   TEXT    NULL,
  payout_id    INTEGER NULL
);
CREATE INDEX IF NOT EXISTS ix_withdrawals_status ON withdrawals (status, id);
CREATE INDEX IF NOT EXISTS ix_withdrawals_user ON withdrawals (user_id, id);
CREATE INDEX IF NOT EXISTS ix_withdrawals_payout ON withdrawals (payout_id);

CREATE TABLE IF NOT EXISTS payouts (
  id                 INTEGER PRIMARY KEY,
  status             TEXT    NOT NULL DEFAULT 'built' CHECK (status IN ('built', 'signed', 'broadcast', 'confirmed', 'abandoned')),
  psbt               TEXT    NOT NULL,
  signed_psbt        TEXT    NULL,
  unsigned_txid      TEXT    NULL,
  txid               TEXT    NULL,
  fee_sat            INTEGER NOT NULL CHECK (fee_sat >= 0),
  fee_rate_sat_kvb   INTEGER NOT NULL,
  replaces_payout_id INTEGER NULL,
  created_at         TEXT    NOT NULL,
  updated_at         TEXT    NULL,
  broadcast_at       TEXT    NULL,
  confirmed_at       TEXT    NULL,
  confirmations      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_payouts_status ON payouts (status, id);
CREATE INDEX IF NOT EXISTS ix_payouts_txid ON payouts (txid);

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

CREATE VIEW IF NOT EXISTS pool_counts AS
  SELECT status, COUNT(*) AS n FROM addresses WHERE slot IS NOT NULL GROUP BY status;
