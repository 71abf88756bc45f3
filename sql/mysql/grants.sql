-- coldpool: least-privilege accounts for MySQL 8 / MariaDB 10.6+.
--
-- Run as an administrator AFTER `coldpool db migrate` (the grants name tables
-- and the pool_counts view, which must exist):
--
--     mysql -u root coldpool < sql/mysql/grants.sql
--
-- Before running:
--   1. replace every CHANGE_ME_..._password with a long random password
--      (e.g. `openssl rand -base64 30`), one per account;
--   2. if your database is not named `coldpool`, replace `coldpool`. below;
--   3. narrow the host part '%' to the machine that uses the account
--      (e.g. 'coldpool_web'@'10.0.0.12') where you can.
--
-- What each account may do (see sql/README.md):
--   coldpool_web       claim addresses (UPDATE of the claim columns only) and
--                      insert withdrawal requests; read both. Nothing else:
--                      no payout, no audit log, no other column; nothing on
--                      withdrawal_seen, withdrawal_approvals,
--                      withdrawal_signatures or payout_exclusions.
--   coldpool_watcher   read counts: the pool_counts view, and status / slot /
--                      assigned_at of addresses (no address, no user); its own
--                      alert memory (watcher_state).
--   coldpool_operator  the operator box: everything on the database, including
--                      migrations; not a server-wide privilege.

CREATE USER IF NOT EXISTS 'coldpool_web'@'%' IDENTIFIED BY 'CHANGE_ME_web_password';
CREATE USER IF NOT EXISTS 'coldpool_watcher'@'%' IDENTIFIED BY 'CHANGE_ME_watcher_password';
CREATE USER IF NOT EXISTS 'coldpool_operator'@'%' IDENTIFIED BY 'CHANGE_ME_operator_password';

-- web app: the schema version check of the Node library
GRANT SELECT ON `coldpool`.`schema_migrations` TO 'coldpool_web'@'%';
-- web app: the claim (sql/README.md). Column-level: `address`, `idx`,
-- `batch_id`, `account_id` can never be changed from the web host.
GRANT SELECT (id, address, chain, idx, slot, status, user_id, ref, assigned_at) ON `coldpool`.`addresses` TO 'coldpool_web'@'%';
GRANT UPDATE (status, user_id, ref, assigned_at, claim_id) ON `coldpool`.`addresses` TO 'coldpool_web'@'%';
-- web app: withdrawal requests. INSERT of these columns only: `status`
-- takes its default 'requested', `created_at` the server's clock; the web
-- host cannot insert an approved request, nor change one afterwards.
GRANT INSERT (app_id, user_id, destination, amount_sat) ON `coldpool`.`withdrawals` TO 'coldpool_web'@'%';
GRANT SELECT (id, app_id, user_id, destination, amount_sat, status, created_at, updated_at, reason) ON `coldpool`.`withdrawals` TO 'coldpool_web'@'%';

-- watcher: counts only
GRANT SELECT ON `coldpool`.`schema_migrations` TO 'coldpool_watcher'@'%';
GRANT SELECT ON `coldpool`.`pool_counts` TO 'coldpool_watcher'@'%';
GRANT SELECT (status, slot, assigned_at) ON `coldpool`.`addresses` TO 'coldpool_watcher'@'%';
-- the next index to derive (named in every alert) and the pool's age (claim rate window)
GRANT SELECT (id, account_id, chain, first_index, count, loaded_at) ON `coldpool`.`address_batches` TO 'coldpool_watcher'@'%';
GRANT SELECT (id, is_primary) ON `coldpool`.`pool_accounts` TO 'coldpool_watcher'@'%';
GRANT SELECT, INSERT, UPDATE ON `coldpool`.`watcher_state` TO 'coldpool_watcher'@'%';

-- operator box: the rest (review, payouts, audit log, loading batches, migrations)
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, CREATE VIEW, SHOW VIEW, REFERENCES ON `coldpool`.* TO 'coldpool_operator'@'%';
