-- coldpool schema 006, MySQL 8 / MariaDB 10.6+: signed approvals, and what a
-- payout build left out. Never edit after it shipped; add 007_*.sql. See
-- sql/sqlite/006_signed_approvals.sql. Operator-only tables: grants.sql gives
-- the web and watcher accounts nothing on them.

CREATE TABLE IF NOT EXISTS withdrawal_signatures (
  withdrawal_id  BIGINT        NOT NULL,
  key_id         CHAR(16)      NOT NULL,
  operator       VARCHAR(190)  NOT NULL,
  content        VARCHAR(2000) NOT NULL,
  signature      CHAR(128)     NOT NULL,
  signed_at      DATETIME(3)   NOT NULL,
  PRIMARY KEY (withdrawal_id, key_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS payout_exclusions (
  withdrawal_id  BIGINT        NOT NULL,
  reason         VARCHAR(64)   NOT NULL,
  detail         VARCHAR(1000) NOT NULL,
  excluded_at    DATETIME(3)   NOT NULL,
  excluded_by    VARCHAR(190)  NOT NULL,
  PRIMARY KEY (withdrawal_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
