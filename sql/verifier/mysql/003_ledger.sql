-- coldpool verifier schema 003, MySQL 8 / MariaDB 10.6+: the verifier's
-- mirror of the web app's ledger (coldpool_ledger) and what it found wrong
-- with it. Never edit after it shipped; add 004_*.sql. See
-- src/verifier/ledger.ts and sql/README.md ("The ledger views").

-- Every ledger entry as the verifier FIRST saw it (never updated: the web
-- side may change, this does not), its fingerprint (sha256 of the canonical
-- entry, core/ledger-rules.ts), when the verifier's clock first saw it, and
-- whether it came in out of order (below entries already mirrored, or dated
-- before them). created_at is the web's time as ISO-8601 text, kept as read.
-- (user_id, amount_sat) covers the per-user sums of the incremental pass:
-- without amount_sat there, each sum is a primary-key lookup per entry.
CREATE TABLE IF NOT EXISTS ledger_entries (
  entry_id      BIGINT       NOT NULL,
  user_id       VARCHAR(190) NOT NULL,
  amount_sat    BIGINT       NOT NULL,
  kind          VARCHAR(32)  NOT NULL,
  ref           VARCHAR(190) NULL,
  created_at    VARCHAR(32)  NOT NULL,
  fingerprint   CHAR(64)     NOT NULL,
  first_seen_at DATETIME(3)  NOT NULL,
  late          TINYINT      NOT NULL DEFAULT 0,
  PRIMARY KEY (entry_id),
  KEY ix_ledger_entries_user (user_id, amount_sat),
  KEY ix_ledger_entries_ref (ref)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per finding still standing: 'suspect' (seen, not alerted yet: it
-- may be an honest race, e.g. a deposit the chain view has not confirmed
-- yet) or 'open' (alerted once). `signature` is what makes it the same
-- finding: the alert goes out again only when it changes. A finding that no
-- longer holds is deleted (and recorded in the audit log).
CREATE TABLE IF NOT EXISTS ledger_findings (
  finding_key   VARCHAR(255)  NOT NULL,
  kind          VARCHAR(32)   NOT NULL,
  state         VARCHAR(8)    NOT NULL,
  signature     VARCHAR(255)  NOT NULL,
  user_id       VARCHAR(190)  NULL,
  detail        VARCHAR(2000) NOT NULL,
  first_seen_at DATETIME(3)   NOT NULL,
  changed_at    DATETIME(3)   NOT NULL,
  PRIMARY KEY (finding_key),
  CONSTRAINT ck_ledger_findings_state CHECK (state IN ('suspect', 'open'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
