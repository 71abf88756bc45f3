-- coldpool schema 004, SQLite: what `coldpool chain sync|follow` read from the chain.
-- Never edit after it shipped; add 005_*.sql.
--
-- chain_blocks: every scanned block with its hash, committed in the same
-- transaction as what was found in it, so a sync resumes after the last row
-- and a reorg is noticed when the node's hash at a height differs.
CREATE TABLE IF NOT EXISTS chain_blocks (
  height      INTEGER NOT NULL PRIMARY KEY CHECK (height >= 0),
  hash        TEXT    NOT NULL UNIQUE,
  prev_hash   TEXT    NOT NULL,
  time        INTEGER NOT NULL,
  synced_at   TEXT    NOT NULL
);

-- Every output paying a script of the account (receive chain 0 = deposits,
-- change chain 1), and its spend. height NULL = seen in the mempool only;
-- spent_txid with spent_height NULL = spent by a mempool transaction.
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

-- Deposits that were in a block a reorganisation removed (kept for the record;
-- `chain sync` reports the ones that did not come back).
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
