-- coldpool schema 006, SQLite: signed approvals, and what a payout build left out.
-- Never edit after it shipped; add 007_*.sql. Operator-only tables (sql/README.md).

-- One row per operator approval that carries a signature: the key that made
-- it, the exact content it signed (the JSON text of approvalContentJson,
-- src/core/approval.ts) and the Ed25519 signature over it. A row is only a
-- claim: what counts is re-checked against the trust file on every read that
-- decides (approve, payout build, the signer), so a row written by anyone
-- else counts for nothing. One key approves a withdrawal at most once.
CREATE TABLE IF NOT EXISTS withdrawal_signatures (
  withdrawal_id  INTEGER NOT NULL,
  key_id         TEXT    NOT NULL,
  operator       TEXT    NOT NULL,
  content        TEXT    NOT NULL,
  signature      TEXT    NOT NULL,
  signed_at      TEXT    NOT NULL,
  PRIMARY KEY (withdrawal_id, key_id)
);

-- The last reason `payout build` left an approved withdrawal out ("changed
-- after approval", "never seen by an operator", "approvals missing"); the
-- review shows it as a flag until a build pays the withdrawal.
CREATE TABLE IF NOT EXISTS payout_exclusions (
  withdrawal_id  INTEGER PRIMARY KEY,
  reason         TEXT    NOT NULL,
  detail         TEXT    NOT NULL,
  excluded_at    TEXT    NOT NULL,
  excluded_by    TEXT    NOT NULL
);
