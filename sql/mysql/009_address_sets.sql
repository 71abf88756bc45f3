-- coldpool schema 009, MySQL 8 / MariaDB 10.6+: addresses per user
-- (`coldpool pool assign`). Never edit after it shipped; add 010_*.sql. See
-- sql/sqlite/009_address_sets.sql and sql/README.md ("Addresses per user").
--
-- A user's set is a number of receive addresses moved to `assigned` for that
-- user at signup, all at once, before any of them is shown to the user; a
-- claim for the user then hands out the next one (lowest index first) and
-- stamps handed_out_at. So `status = 'assigned'` keeps meaning "belongs to a
-- user, never available again" (the watcher's count and pool_counts stay
-- right with no change), and handed_out_at tells which of a user's addresses
-- the user has actually been given.
--
-- MySQL commits DDL implicitly: an interrupted run is re-run whole by
-- `coldpool db migrate`, which skips "duplicate column" (1060) and
-- "duplicate key name" (1061); every other statement is idempotent.

ALTER TABLE addresses ADD COLUMN handed_out_at DATETIME(3) NULL;

-- Every address handed out before this schema was handed out by a claim (or
-- paid without one): none of them may look like an unhanded set address.
-- Runs before any set exists (the stores refuse an unmigrated database).
UPDATE addresses SET handed_out_at = COALESCE(assigned_at, used_at, UTC_TIMESTAMP(3))
 WHERE status <> 'available' AND handed_out_at IS NULL;

-- "The next of user U's unhanded addresses": one index dive,
-- (user_id = ?, handed_out_at IS NULL) in idx order. Also serves every
-- per-user read of addresses (the verifier's, `deposits list --user`).
CREATE INDEX ix_addresses_user ON addresses (user_id, handed_out_at, idx);

-- The set itself is taken in index order across slots (a user's addresses
-- then sit together, which keeps a restored wallet's gap small):
-- ix_addresses_claim is (status, slot, idx) and would sort.
CREATE INDEX ix_addresses_handout ON addresses (status, chain, idx);

-- One row per user who has a set: `size` is how many unhanded addresses the
-- set is topped up to when it runs low. The primary key makes assignment
-- once per user even under concurrent signups (the second INSERT waits for
-- the first and fails with 1062), and its row is the lock that serialises
-- the top-ups of one user.
CREATE TABLE IF NOT EXISTS address_sets (
  user_id     VARCHAR(190) NOT NULL,
  size        INT UNSIGNED NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  PRIMARY KEY (user_id),
  CONSTRAINT ck_address_sets_size CHECK (size >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
