-- coldpool verifier schema 002, MySQL 8 / MariaDB 10.6+: the verifier's own
-- record of who holds which address, its own chain view, and the notes it
-- publishes. Never edit after it shipped; add 003_*.sql. Same tables and
-- columns as sql/verifier/sqlite/002_ledger.sql.
--
-- pool_accounts / address_batches / addresses carry the columns the chain
-- follower reads (src/store/chain-store.ts), so ONE chain store serves the
-- web database and this one. Here they are the verifier's records, never a
-- copy kept in step with the web database:
--   pool_accounts  the account descriptor pinned at first sight (web_descriptor:
--                  the web's text as last seen, so a change is alerted once);
--   addresses      every address that RE-DERIVED from the pinned descriptor at
--                  its (chain, idx): `address` is the derived text, `user_id`
--                  the owner at first sight of the assignment (never changed),
--                  web_* what the web database said when last read (a change
--                  is alerted once, with before and after). Deposits are
--                  credited to `user_id`, whoever the web database names now.
--   address_rejects  web rows that did not re-derive: alerted, never watched,
--                  so never credited.
CREATE TABLE IF NOT EXISTS pool_accounts (
  id             BIGINT        NOT NULL,
  key_id         VARCHAR(130)  NOT NULL,
  descriptor     VARCHAR(1000) NOT NULL,
  network        VARCHAR(16)   NOT NULL,
  is_primary     TINYINT       NOT NULL DEFAULT 0,
  pinned_at      DATETIME(3)   NOT NULL,
  web_descriptor VARCHAR(1000) NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS address_batches (
  id          BIGINT       NOT NULL,
  account_id  BIGINT       NOT NULL,
  chain       TINYINT      NOT NULL,
  first_index INT UNSIGNED NOT NULL,
  count       INT UNSIGNED NOT NULL,
  created     VARCHAR(32)  NOT NULL,
  seen_at     DATETIME(3)  NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS addresses (
  id               BIGINT       NOT NULL,
  address          VARCHAR(90)  NOT NULL,
  account_id       BIGINT       NOT NULL,
  chain            TINYINT      NOT NULL,
  idx              INT UNSIGNED NOT NULL,
  status           VARCHAR(9)   NOT NULL,
  user_id          VARCHAR(190) NULL,
  assigned_at      DATETIME(3)  NULL,
  used_at          DATETIME(3)  NULL,
  first_seen_at    DATETIME(3)  NOT NULL,
  owner_seen_at    DATETIME(3)  NULL,
  web_address      VARCHAR(90)  NOT NULL,
  web_user_id      VARCHAR(190) NULL,
  web_status       VARCHAR(9)   NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_addresses_address (address),
  KEY ix_addresses_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS address_rejects (
  id          BIGINT        NOT NULL,
  address     VARCHAR(90)   NOT NULL,
  account_id  BIGINT        NOT NULL,
  chain       TINYINT       NOT NULL,
  idx         INT UNSIGNED  NOT NULL,
  user_id     VARCHAR(190)  NULL,
  reason      VARCHAR(1000) NOT NULL,
  seen_at     DATETIME(3)   NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The verifier's chain view: the same tables as the web schema 004.
CREATE TABLE IF NOT EXISTS chain_blocks (
  height      INT UNSIGNED NOT NULL,
  hash        CHAR(64)     NOT NULL,
  prev_hash   CHAR(64)     NOT NULL,
  time        BIGINT       NOT NULL,
  synced_at   DATETIME(3)  NOT NULL,
  PRIMARY KEY (height),
  UNIQUE KEY uq_chain_blocks_hash (hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS chain_outputs (
  txid          CHAR(64)     NOT NULL,
  vout          INT UNSIGNED NOT NULL,
  value_sat     BIGINT       NOT NULL,
  script        VARCHAR(200) NOT NULL,
  address       VARCHAR(90)  NOT NULL,
  account_id    BIGINT       NOT NULL,
  chain         TINYINT      NOT NULL,
  idx           INT UNSIGNED NOT NULL,
  height        INT UNSIGNED NULL,
  block_hash    CHAR(64)     NULL,
  spent_txid    CHAR(64)     NULL,
  spent_height  INT UNSIGNED NULL,
  PRIMARY KEY (txid, vout),
  KEY ix_chain_outputs_height (height),
  KEY ix_chain_outputs_spent_height (spent_height),
  KEY ix_chain_outputs_address (address)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS chain_dropped (
  id          BIGINT       NOT NULL AUTO_INCREMENT,
  txid        CHAR(64)     NOT NULL,
  vout        INT UNSIGNED NOT NULL,
  address     VARCHAR(90)  NOT NULL,
  value_sat   BIGINT       NOT NULL,
  height      INT UNSIGNED NOT NULL,
  block_hash  CHAR(64)     NOT NULL,
  dropped_at  DATETIME(3)  NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Attested payouts seen confirmed on the verifier's chain view: the output
-- paying the attested destination and amount, in the block it confirmed in
-- (a row whose block is no longer in chain_blocks is pending again).
CREATE TABLE IF NOT EXISTS payout_outputs (
  withdrawal_id BIGINT       NOT NULL,
  txid          CHAR(64)     NOT NULL,
  vout          INT UNSIGNED NOT NULL,
  height        INT UNSIGNED NOT NULL,
  block_hash    CHAR(64)     NOT NULL,
  PRIMARY KEY (withdrawal_id),
  UNIQUE KEY uq_payout_outputs_outpoint (txid, vout)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- Spending transactions of pool coins already looked at for attested payouts.
CREATE TABLE IF NOT EXISTS spends_examined (
  txid        CHAR(64)     NOT NULL,
  block_hash  CHAR(64)     NOT NULL,
  PRIMARY KEY (txid, block_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Why a request is not attested (a hold), kept until published in the web
-- database's verifier_notes (INSERT only there), so `review` shows it.
CREATE TABLE IF NOT EXISTS web_notes (
  id            BIGINT        NOT NULL AUTO_INCREMENT,
  withdrawal_id BIGINT        NOT NULL,
  note          VARCHAR(1000) NOT NULL,
  noted_at      DATETIME(3)   NOT NULL,
  published_at  DATETIME(3)   NULL,
  PRIMARY KEY (id),
  KEY ix_web_notes_pending (published_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

