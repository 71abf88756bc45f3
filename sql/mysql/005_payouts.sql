-- coldpool schema 005, MySQL/MariaDB: what each payout spends and pays.
-- Never edit after it shipped; add 006_*.sql. See sql/sqlite/005_payouts.sql.
CREATE TABLE IF NOT EXISTS payout_inputs (
  payout_id  BIGINT   NOT NULL,
  n          INT      NOT NULL,
  txid       CHAR(64) NOT NULL,
  vout       INT      NOT NULL,
  value_sat  BIGINT   NOT NULL,
  chain      TINYINT  NOT NULL,
  idx        INT      NOT NULL,
  PRIMARY KEY (payout_id, n),
  KEY ix_payout_inputs_outpoint (txid, vout),
  CONSTRAINT ck_payout_inputs CHECK (n >= 0 AND vout >= 0 AND value_sat > 0 AND chain IN (0, 1) AND idx >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS payout_outputs (
  payout_id     BIGINT      NOT NULL,
  n             INT         NOT NULL,
  withdrawal_id BIGINT      NULL,
  address       VARCHAR(90) NOT NULL,
  amount_sat    BIGINT      NOT NULL,
  change_index  INT         NULL,
  PRIMARY KEY (payout_id, n),
  KEY ix_payout_outputs_withdrawal (withdrawal_id),
  CONSTRAINT ck_payout_outputs CHECK (n >= 0 AND amount_sat > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
