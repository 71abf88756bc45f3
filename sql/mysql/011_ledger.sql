-- coldpool schema 011, MySQL 8 / MariaDB 10.6+: the web app's ledger, as it
-- publishes it to the verifier. Never edit after it shipped; add 012_*.sql.
-- See sql/sqlite/011_ledger.sql and sql/README.md ("The ledger views").
--
-- The verifier reads ONLY the two views, through its own account. A web app
-- that keeps its ledger in tables of its own replaces the views (CREATE OR
-- REPLACE VIEW coldpool_ledger AS SELECT … FROM my_ledger) and leaves the
-- default tables empty; one that has no ledger leaves both empty, and the
-- verifier then checks nothing here.

-- One row per movement of a user's balance. amount_sat is SIGNED satoshis:
-- credits positive (a deposit, the receiving side of a trade), debits
-- negative (a withdrawal, a fee, the paying side). kind 'deposit' carries
-- ref = 'txid:vout' of the chain output; kind 'withdrawal' ref = the
-- withdrawal request's id; any other kind is an internal movement, and its
-- ref, when set, names a group of entries that sum to zero across users.
-- Entries are append-only: a correction is a new entry, never an edit.
CREATE TABLE IF NOT EXISTS ledger_entries (
  entry_id    BIGINT       NOT NULL AUTO_INCREMENT,
  user_id     VARCHAR(190) NOT NULL,
  amount_sat  BIGINT       NOT NULL,
  kind        VARCHAR(32)  NOT NULL,
  ref         VARCHAR(190) NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  PRIMARY KEY (entry_id),
  KEY ix_ledger_entries_user (user_id, entry_id),
  KEY ix_ledger_entries_ref (ref)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Each user's balance as the web app shows it: the sum of the user's entries
-- (updated in the transaction that inserts the entry).
CREATE TABLE IF NOT EXISTS ledger_balances (
  user_id     VARCHAR(190) NOT NULL,
  balance_sat BIGINT       NOT NULL,
  PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE OR REPLACE VIEW coldpool_ledger AS SELECT entry_id, user_id, amount_sat, kind, ref, created_at FROM ledger_entries;
CREATE OR REPLACE VIEW coldpool_balances AS SELECT user_id, balance_sat FROM ledger_balances;
