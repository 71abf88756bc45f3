-- coldpool schema 004, MySQL 8 / MariaDB 10.6+: what `coldpool chain sync|follow`
-- read from the chain. Operator tables: the web account needs no access.
-- Never edit after it shipped; add 005_*.sql.
--
-- chain_blocks: every scanned block with its hash, committed in the same
-- transaction as what was found in it, so a sync resumes after the last row
-- and a reorg is noticed when the node's hash at a height differs.
CREATE TABLE IF NOT EXISTS chain_blocks (
  height      INT UNSIGNED NOT NULL,
  hash        CHAR(64)     NOT NULL,
  prev_hash   CHAR(64)     NOT NULL,
  time        BIGINT       NOT NULL,
  synced_at   DATETIME(3)  NOT NULL,
  PRIMARY KEY (height),
  UNIQUE KEY uq_chain_blocks_hash (hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every output paying a script of the account (receive chain 0 = deposits,
-- change chain 1), and its spend. height NULL = seen in the mempool only;
-- spent_txid with spent_height NULL = spent by a mempool transaction.
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
  KEY ix_chain_outputs_address (address),
  CONSTRAINT ck_chain_outputs_value CHECK (value_sat >= 0),
  CONSTRAINT ck_chain_outputs_chain CHECK (chain IN (0, 1))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Deposits that were in a block a reorganisation removed (kept for the record).
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
