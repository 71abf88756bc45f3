-- coldpool schema 003, MySQL 8 / MariaDB 10.6+: withdrawal review and the
-- audit chain's head. Operator-only tables: the web account must never get
-- INSERT, UPDATE or DELETE on them (sql/README.md, grants).

-- The fingerprint of every request the first time the operator tool read it
-- ("changed since first seen"), and the reason when it was found invalid.
CREATE TABLE IF NOT EXISTS withdrawal_seen (
  withdrawal_id BIGINT       NOT NULL,
  fingerprint   CHAR(64)     NOT NULL,
  content       VARCHAR(2000) NOT NULL,
  seen_at       DATETIME(3)  NOT NULL,
  seen_by       VARCHAR(190) NOT NULL,
  PRIMARY KEY (withdrawal_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per operator approval; two approvals need two different operators.
CREATE TABLE IF NOT EXISTS withdrawal_approvals (
  withdrawal_id    BIGINT       NOT NULL,
  operator         VARCHAR(190) NOT NULL,
  approved_at      DATETIME(3)  NOT NULL,
  override_changed TINYINT      NOT NULL DEFAULT 0,
  PRIMARY KEY (withdrawal_id, operator)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The last entry of audit_log; every append locks this row (SELECT … FOR
-- UPDATE), so concurrent operators never fork the chain.
CREATE TABLE IF NOT EXISTS audit_head (
  id   TINYINT  NOT NULL,
  seq  BIGINT   NOT NULL,
  hash CHAR(64) NOT NULL,
  PRIMARY KEY (id),
  CONSTRAINT ck_audit_head_id CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO audit_head (id, seq, hash)
  SELECT 1, COALESCE(MAX(seq), 0), COALESCE((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '0000000000000000000000000000000000000000000000000000000000000000') FROM audit_log;

-- Last, so a run interrupted before it re-runs the statements above harmlessly.
CREATE INDEX ix_withdrawals_destination ON withdrawals (destination, user_id);
