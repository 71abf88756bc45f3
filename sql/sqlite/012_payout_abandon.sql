-- coldpool schema 012, SQLite: payouts given up, lost and cancelled. Never
-- edit after it shipped; add 013_*.sql. See sql/mysql/012_payout_abandon.sql
-- (the meaning of each column) and sql/README.md ("Payouts given up").

ALTER TABLE payouts ADD COLUMN abandon_kind TEXT NULL CHECK (abandon_kind IS NULL OR abandon_kind IN ('replaced', 'given_up', 'failed'));
ALTER TABLE payouts ADD COLUMN abandon_reason TEXT NULL;
ALTER TABLE payouts ADD COLUMN abandoned_at TEXT NULL;
ALTER TABLE payouts ADD COLUMN signed_at TEXT NULL;
ALTER TABLE payouts ADD COLUMN cancels_payout_id INTEGER NULL;
