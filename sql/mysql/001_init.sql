-- coldpool schema 001, MySQL 8 / MariaDB 10.6+.
-- Applied by `coldpool db migrate`, recorded in schema_migrations (version +
-- sha256 of this file): never edit this file after it shipped; add 002_*.sql.
--
-- One collation for every table AND every connection: utf8mb4_bin.
-- A connection whose collation differs from the table's turns the claim
-- `UPDATE ... WHERE status = ? ... LIMIT 1` into a full scan (see sql/README.md).
-- Statements are separated by a semicolon at the end of a line.

CREATE TABLE IF NOT EXISTS pool_accounts (
  id          BIGINT       NOT NULL AUTO_INCREMENT,
  key_id      VARCHAR(130) NOT NULL,
  descriptor  VARCHAR(1000) NOT NULL,
  network     VARCHAR(16)  NOT NULL,
  is_primary  TINYINT      NOT NULL DEFAULT 0,
  pinned_at   DATETIME(3)  NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_pool_accounts_key (key_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS address_batches (
  id          BIGINT       NOT NULL AUTO_INCREMENT,
  account_id  BIGINT       NOT NULL,
  descriptor  VARCHAR(1000) NOT NULL,
  network     VARCHAR(16)  NOT NULL,
  chain       TINYINT      NOT NULL,
  first_index INT UNSIGNED NOT NULL,
  count       INT UNSIGNED NOT NULL,
  digest      CHAR(64)     NOT NULL,
  created     VARCHAR(32)  NOT NULL,
  loaded_at   DATETIME(3)  NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_address_batches_digest (digest),
  KEY ix_address_batches_range (account_id, chain, first_index),
  CONSTRAINT fk_address_batches_account FOREIGN KEY (account_id) REFERENCES pool_accounts (id),
  CONSTRAINT ck_address_batches_chain CHECK (chain IN (0, 1)),
  CONSTRAINT ck_address_batches_count CHECK (count >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- slot = idx MOD 64 on the receive chain, NULL on the change chain (never
-- handed out). Claimers spread over the 64 slots instead of all fighting for
-- the first available row; ix_addresses_claim serves the claim, the count of
-- available addresses and the highest index handed out.
CREATE TABLE IF NOT EXISTS addresses (
  id          BIGINT       NOT NULL AUTO_INCREMENT,
  address     VARCHAR(90)  NOT NULL,
  batch_id    BIGINT       NOT NULL,
  account_id  BIGINT       NOT NULL,
  chain       TINYINT      NOT NULL,
  idx         INT UNSIGNED NOT NULL,
  slot        TINYINT UNSIGNED NULL,
  status      VARCHAR(9)   NOT NULL DEFAULT 'available',
  user_id     VARCHAR(190) NULL,
  ref         VARCHAR(190) NULL,
  assigned_at DATETIME(3)  NULL,
  used_at     DATETIME(3)  NULL,
  claim_id    BIGINT       NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_addresses_address (address),
  UNIQUE KEY uq_addresses_ref (ref),
  UNIQUE KEY uq_addresses_index (account_id, chain, idx),
  KEY ix_addresses_claim (status, slot, idx),
  KEY ix_addresses_batch (batch_id),
  CONSTRAINT fk_addresses_batch FOREIGN KEY (batch_id) REFERENCES address_batches (id),
  CONSTRAINT ck_addresses_status CHECK (status IN ('available', 'assigned', 'used')),
  CONSTRAINT ck_addresses_chain CHECK (chain IN (0, 1)),
  CONSTRAINT ck_addresses_slot CHECK (slot IS NULL OR slot < 64)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS withdrawals (
  id           BIGINT       NOT NULL AUTO_INCREMENT,
  app_id       VARCHAR(190) NOT NULL,
  user_id      VARCHAR(190) NOT NULL,
  destination  VARCHAR(90)  NOT NULL,
  amount_sat   BIGINT       NOT NULL,
  status       VARCHAR(10)  NOT NULL DEFAULT 'requested',
  created_at   DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  updated_at   DATETIME(3)  NULL,
  reviewer     VARCHAR(190) NULL,
  reason       VARCHAR(1000) NULL,
  decided_at   DATETIME(3)  NULL,
  payout_id    BIGINT       NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_withdrawals_app_id (app_id),
  KEY ix_withdrawals_status (status, id),
  KEY ix_withdrawals_user (user_id, id),
  KEY ix_withdrawals_payout (payout_id),
  CONSTRAINT ck_withdrawals_amount CHECK (amount_sat > 0 AND amount_sat <= 2100000000000000),
  CONSTRAINT ck_withdrawals_status CHECK (status IN ('requested', 'approved', 'rejected', 'in_payout', 'broadcast', 'confirmed', 'failed', 'cancelled', 'invalid'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS payouts (
  id                 BIGINT      NOT NULL AUTO_INCREMENT,
  status             VARCHAR(10) NOT NULL DEFAULT 'built',
  psbt               MEDIUMTEXT  NOT NULL,
  signed_psbt        MEDIUMTEXT  NULL,
  unsigned_txid      CHAR(64)    NULL,
  txid               CHAR(64)    NULL,
  fee_sat            BIGINT      NOT NULL,
  fee_rate_sat_kvb   BIGINT      NOT NULL,
  replaces_payout_id BIGINT      NULL,
  created_at         DATETIME(3) NOT NULL,
  updated_at         DATETIME(3) NULL,
  broadcast_at       DATETIME(3) NULL,
  confirmed_at       DATETIME(3) NULL,
  confirmations      INT         NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY ix_payouts_status (status, id),
  KEY ix_payouts_txid (txid),
  CONSTRAINT ck_payouts_fee CHECK (fee_sat >= 0),
  CONSTRAINT ck_payouts_status CHECK (status IN ('built', 'signed', 'broadcast', 'confirmed', 'abandoned'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Append-only: each row's hash covers prev_hash and the row, so an edit or a
-- deleted row breaks the chain (`coldpool audit verify`).
CREATE TABLE IF NOT EXISTS audit_log (
  seq        BIGINT       NOT NULL AUTO_INCREMENT,
  at         DATETIME(3)  NOT NULL,
  actor      VARCHAR(190) NOT NULL,
  action     VARCHAR(64)  NOT NULL,
  subject    VARCHAR(190) NOT NULL,
  data       MEDIUMTEXT   NOT NULL,
  prev_hash  CHAR(64)     NOT NULL,
  hash       CHAR(64)     NOT NULL,
  PRIMARY KEY (seq),
  UNIQUE KEY uq_audit_log_hash (hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- What the watcher account may read: counts, no address, no user.
CREATE OR REPLACE SQL SECURITY DEFINER VIEW pool_counts AS
  SELECT status, COUNT(*) AS n FROM addresses WHERE slot IS NOT NULL GROUP BY status;
