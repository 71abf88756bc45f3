-- coldpool schema 007, MySQL/MariaDB: who signed each audit entry.
-- Never edit after it shipped; add 008_*.sql. See sql/sqlite/007_audit_signatures.sql.
CREATE TABLE IF NOT EXISTS audit_signatures (
  seq        BIGINT    NOT NULL,
  key_id     CHAR(16)  NOT NULL,
  signature  CHAR(128) NOT NULL,
  PRIMARY KEY (seq),
  CONSTRAINT fk_audit_signatures_log FOREIGN KEY (seq) REFERENCES audit_log (seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
