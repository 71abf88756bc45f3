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
--   2. if your database is not named `coldpool`, replace `coldpool`. below
--      (and `coldpool_verifier` if the verifier's own database has another
--      name, or delete its section if that database is elsewhere);
--   3. narrow the host part '%' to the machine that uses the account
--      (e.g. 'coldpool_web'@'10.0.0.12') where you can.
--
-- What each account may do (see sql/README.md):
--   coldpool_web       claim addresses (UPDATE of the claim columns only),
--                      give users their own sets (address_sets, schema 009)
--                      and insert withdrawal requests; read them. Nothing else:
--                      no payout, no audit log, no other column; nothing on
--                      withdrawal_seen, withdrawal_approvals,
--                      withdrawal_signatures or payout_exclusions.
--   coldpool_watcher   read counts: the pool_counts view, and status / slot /
--                      assigned_at of addresses (no address, no user); its own
--                      alert memory (watcher_state).
--   coldpool_operator  the operator box: everything on the database, including
--                      migrations; not a server-wide privilege. It reads the
--                      verifier's attestations (and may write anything here:
--                      a row counts only when it verifies under the verifier
--                      key of the trust file).
--   coldpool_verifier  the verifier ("the cop", schema 008) on the web
--                      database: READ the schema version, the network, the
--                      request columns it fingerprints, the
--                      coldpool_user_emails view (not user_emails itself) and
--                      the relayed tokens; INSERT signed attestations. No
--                      UPDATE or DELETE anywhere.
--   coldpool_verifier_own
--                      the verifier's OWN database `coldpool_verifier`
--                      (sql/verifier/, its mirror, token hashes, cursors),
--                      only if it lives on this server (better: on the
--                      verifier's machine). No other account has anything
--                      on it.
--
-- The web account also relays confirmation tokens (INSERT only, it cannot
-- read them back) and owns its users' emails (user_emails): that is the
-- attack the verifier's mirror, its 24 h hold and its notices defend against.
-- It appends to its ledger (ledger_entries, INSERT only) and keeps the
-- balances (ledger_balances): the verifier's mirror of the ledger catches an
-- entry changed by anyone with more rights (or by the web host on SQLite).

CREATE USER IF NOT EXISTS 'coldpool_web'@'%' IDENTIFIED BY 'CHANGE_ME_web_password';
CREATE USER IF NOT EXISTS 'coldpool_watcher'@'%' IDENTIFIED BY 'CHANGE_ME_watcher_password';
CREATE USER IF NOT EXISTS 'coldpool_operator'@'%' IDENTIFIED BY 'CHANGE_ME_operator_password';
CREATE USER IF NOT EXISTS 'coldpool_verifier'@'%' IDENTIFIED BY 'CHANGE_ME_verifier_password';

-- web app: the schema version check of the Node library
GRANT SELECT ON `coldpool`.`schema_migrations` TO 'coldpool_web'@'%';
-- web app: the claim (sql/README.md). Column-level: `address`, `idx`,
-- `batch_id`, `account_id` can never be changed from the web host.
-- Schema 009 (addresses per user) adds handed_out_at, and claim_id to SELECT:
-- the hand-out's WHERE reads it (sql/README.md, "Addresses per user").
GRANT SELECT (id, address, chain, idx, slot, status, user_id, ref, assigned_at, handed_out_at, claim_id) ON `coldpool`.`addresses` TO 'coldpool_web'@'%';
GRANT UPDATE (status, user_id, ref, assigned_at, handed_out_at, claim_id) ON `coldpool`.`addresses` TO 'coldpool_web'@'%';
-- web app: users' own sets (schema 009). INSERT of these two columns
-- (created_at takes the server's clock); UPDATE of size only (`--add` grows a
-- set; the locking read of a top-up needs it on MySQL 8). No DELETE: a set,
-- like an assignment, is never taken back from the web host.
GRANT SELECT (user_id, size, created_at) ON `coldpool`.`address_sets` TO 'coldpool_web'@'%';
GRANT INSERT (user_id, size) ON `coldpool`.`address_sets` TO 'coldpool_web'@'%';
GRANT UPDATE (size) ON `coldpool`.`address_sets` TO 'coldpool_web'@'%';
-- web app: withdrawal requests. INSERT of these columns only: `status`
-- takes its default 'requested', `created_at` the server's clock; the web
-- host cannot insert an approved request, nor change one afterwards.
GRANT INSERT (app_id, user_id, destination, amount_sat) ON `coldpool`.`withdrawals` TO 'coldpool_web'@'%';
GRANT SELECT (id, app_id, user_id, destination, amount_sat, status, created_at, updated_at, reason) ON `coldpool`.`withdrawals` TO 'coldpool_web'@'%';
-- web app: its users' emails (schema 008). A web app with its own users
-- table replaces the coldpool_user_emails view instead (sql/README.md) and
-- needs nothing here.
GRANT SELECT, INSERT, UPDATE ON `coldpool`.`user_emails` TO 'coldpool_web'@'%';
-- web app: relay the token of a confirmation link. INSERT of these columns
-- only, no SELECT: the web host cannot read other users' tokens back, nor
-- change or delete a relayed one. Nothing on `attestations`.
GRANT INSERT (withdrawal_id, token) ON `coldpool`.`withdrawal_confirmations` TO 'coldpool_web'@'%';
-- web app: its ledger in coldpool's default tables (schema 011), if it
-- keeps it there: entries are append-only (INSERT, no UPDATE or DELETE: a
-- correction is a new entry), balances are updated. A web app that
-- replaces the coldpool_ledger/coldpool_balances views with its own tables
-- needs neither line.
GRANT SELECT, INSERT ON `coldpool`.`ledger_entries` TO 'coldpool_web'@'%';
GRANT SELECT, INSERT, UPDATE ON `coldpool`.`ledger_balances` TO 'coldpool_web'@'%';

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

-- verifier, on the web database (schema 008): read what it checks, insert
-- what it signs. It reads the emails through the view only (the view runs
-- with its definer's rights), the request columns of REQUEST_COLUMNS in
-- src/store/verification-feed.ts (nothing about review or payouts), the
-- pinned account (its descriptor too: public keys only, the verifier
-- re-derives every address from it), the addresses and their batches (schema
-- 001; the verifier records who holds which address at first sight and
-- alerts on any later change). INSERT on attestations and verifier_notes
-- (schema 010, why a request is held) without UPDATE or DELETE: what the
-- verifier published is never changed, not even by the verifier.
GRANT SELECT ON `coldpool`.`schema_migrations` TO 'coldpool_verifier'@'%';
GRANT SELECT (id, key_id, descriptor, network, is_primary) ON `coldpool`.`pool_accounts` TO 'coldpool_verifier'@'%';
GRANT SELECT (id, account_id, chain, first_index, count, created) ON `coldpool`.`address_batches` TO 'coldpool_verifier'@'%';
GRANT SELECT (id, address, account_id, chain, idx, status, user_id, assigned_at) ON `coldpool`.`addresses` TO 'coldpool_verifier'@'%';
GRANT INSERT ON `coldpool`.`verifier_notes` TO 'coldpool_verifier'@'%';
GRANT SELECT (id, app_id, user_id, destination, amount_sat, status, created_at) ON `coldpool`.`withdrawals` TO 'coldpool_verifier'@'%';
GRANT SELECT ON `coldpool`.`coldpool_user_emails` TO 'coldpool_verifier'@'%';
GRANT SELECT ON `coldpool`.`withdrawal_confirmations` TO 'coldpool_verifier'@'%';
GRANT SELECT, INSERT ON `coldpool`.`attestations` TO 'coldpool_verifier'@'%';
-- the web app's ledger (schema 011), through the views only: the verifier
-- mirrors it and reconciles it (sql/README.md "The ledger views").
GRANT SELECT ON `coldpool`.`coldpool_ledger` TO 'coldpool_verifier'@'%';
GRANT SELECT ON `coldpool`.`coldpool_balances` TO 'coldpool_verifier'@'%';

-- The verifier's OWN database, when it is on this server. Delete this
-- section when the verifier keeps it on its own machine (SQLite, or a
-- MariaDB of its own: then run the CREATE DATABASE and the grant there). Its
-- account migrates it (`coldpool verifier init --db
-- mysql://coldpool_verifier_own:…@host/coldpool_verifier`) and is the only
-- one with anything on it: not the web app, not the watcher, not the
-- operator account (which has `coldpool`.* only).
CREATE DATABASE IF NOT EXISTS `coldpool_verifier` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS 'coldpool_verifier_own'@'%' IDENTIFIED BY 'CHANGE_ME_verifier_own_password';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, REFERENCES ON `coldpool_verifier`.* TO 'coldpool_verifier_own'@'%';
