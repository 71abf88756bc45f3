-- coldpool schema 009, SQLite: addresses per user (`coldpool pool assign`).
-- Never edit after it shipped; add 010_*.sql. See sql/mysql/009_address_sets.sql
-- (the reasons) and sql/README.md ("Addresses per user").
--
-- A set address is `assigned` to its user with handed_out_at NULL until a
-- claim for that user hands it out; the watcher's count is unchanged.

ALTER TABLE addresses ADD COLUMN handed_out_at TEXT NULL;

-- Everything handed out before this schema counts as handed out.
UPDATE addresses SET handed_out_at = COALESCE(assigned_at, used_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
 WHERE status <> 'available' AND handed_out_at IS NULL;

CREATE INDEX IF NOT EXISTS ix_addresses_user ON addresses (user_id, handed_out_at, idx);
CREATE INDEX IF NOT EXISTS ix_addresses_handout ON addresses (status, chain, idx);

CREATE TABLE IF NOT EXISTS address_sets (
  user_id     TEXT    NOT NULL PRIMARY KEY,
  size        INTEGER NOT NULL CHECK (size >= 1),
  created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
