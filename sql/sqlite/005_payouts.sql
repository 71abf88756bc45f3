-- coldpool schema 005, SQLite: what each payout spends and pays.
-- Never edit after it shipped; add 006_*.sql.
--
-- payout_inputs: the cold wallet's coins a payout spends. A coin spent by a
-- live payout (built, signed, broadcast) is not offered to another build; a
-- replacement (bump, payouts.replaces_payout_id) spends the same coins.
CREATE TABLE IF NOT EXISTS payout_inputs (
  payout_id  INTEGER NOT NULL,
  n          INTEGER NOT NULL CHECK (n >= 0),
  txid       TEXT    NOT NULL,
  vout       INTEGER NOT NULL CHECK (vout >= 0),
  value_sat  INTEGER NOT NULL CHECK (value_sat > 0),
  chain      INTEGER NOT NULL CHECK (chain IN (0, 1)),
  idx        INTEGER NOT NULL CHECK (idx >= 0),
  PRIMARY KEY (payout_id, n)
);
CREATE INDEX IF NOT EXISTS ix_payout_inputs_outpoint ON payout_inputs (txid, vout);

-- payout_outputs: output n of the payout's transaction: a withdrawal paid
-- (withdrawal_id) or the change (withdrawal_id NULL, change_index = j of …/1/j).
CREATE TABLE IF NOT EXISTS payout_outputs (
  payout_id     INTEGER NOT NULL,
  n             INTEGER NOT NULL CHECK (n >= 0),
  withdrawal_id INTEGER NULL,
  address       TEXT    NOT NULL,
  amount_sat    INTEGER NOT NULL CHECK (amount_sat > 0),
  change_index  INTEGER NULL,
  PRIMARY KEY (payout_id, n)
);
CREATE INDEX IF NOT EXISTS ix_payout_outputs_withdrawal ON payout_outputs (withdrawal_id);
