-- coldpool schema 012, MySQL 8 / MariaDB 10.6+: payouts given up, lost and
-- cancelled (`coldpool payout abandon / cancel / record-signed`). Never edit
-- after it shipped; add 013_*.sql. See sql/README.md ("Payouts given up").
--
-- The status `abandoned` keeps its CHECK of schema 001 (a new status would
-- mean rebuilding the SQLite table); what kind of abandoned it is sits beside:
--   replaced  another version of it (a bump) confirmed (NULL on older rows);
--   given_up  the operator gave it up (`payout abandon`, abandon_reason);
--             its coins stay reserved: the next payout of its withdrawals
--             must spend one of them, so at most one of the two confirms;
--   failed    a conflicting payout (one it had to conflict with) confirmed.
-- signed_at: when the operator box first saw the signed PSBT (status signed).
-- cancels_payout_id: a payout paying nothing but our change that spends an
-- input of a given-up payout, so that one can never confirm.
--
-- MySQL commits DDL implicitly: an interrupted run is re-run whole by
-- `coldpool db migrate`, which skips "duplicate column" (1060).

ALTER TABLE payouts ADD COLUMN abandon_kind VARCHAR(10) NULL CHECK (abandon_kind IS NULL OR abandon_kind IN ('replaced', 'given_up', 'failed'));
ALTER TABLE payouts ADD COLUMN abandon_reason VARCHAR(500) NULL;
ALTER TABLE payouts ADD COLUMN abandoned_at DATETIME(3) NULL;
ALTER TABLE payouts ADD COLUMN signed_at DATETIME(3) NULL;
ALTER TABLE payouts ADD COLUMN cancels_payout_id BIGINT NULL;
