-- coldpool schema 010, MySQL 8 / MariaDB 10.6+: why the verifier does not
-- attest a request (a hold: no balance at the verifier, an email change), as
-- the verifier published it. The verifier's account may INSERT only
-- (grants.sql): a note is never edited, the latest one counts, and a note
-- published twice after a crash is the same primary key (ignored).
-- `coldpool withdrawals list/show` show the latest next to the attestation
-- state. A note is information for review, never a testimony: only an
-- attestation that verifies under the trust file's key makes a request payable.
CREATE TABLE IF NOT EXISTS verifier_notes (
  withdrawal_id BIGINT        NOT NULL,
  note          VARCHAR(1000) NOT NULL,
  noted_at      DATETIME(3)   NOT NULL,
  PRIMARY KEY (withdrawal_id, noted_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
