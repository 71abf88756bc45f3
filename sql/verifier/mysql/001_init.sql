-- coldpool verifier schema 001, MySQL 8 / MariaDB 10.6+: the verifier's OWN
-- database, on its own machine or at least in a database no web account can
-- reach (sql/mysql/grants.sql). Never edit after it shipped; add 002_*.sql.
-- See sql/verifier/sqlite/001_init.sql and sql/README.md ("The verifier").

-- The mirror of the users' emails, stamped by the verifier's clock: when it
-- first saw the user, when it noticed the last change, until when the user's
-- withdrawals are held, since when the web view stopped listing the user.
CREATE TABLE IF NOT EXISTS mirror_users (
  user_id       VARCHAR(190) NOT NULL,
  email         VARCHAR(254) NOT NULL,
  first_seen_at DATETIME(3)  NOT NULL,
  changed_at    DATETIME(3)  NULL,
  hold_until    DATETIME(3)  NULL,
  missing_since DATETIME(3)  NULL,
  PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS email_changes (
  id         BIGINT       NOT NULL AUTO_INCREMENT,
  user_id    VARCHAR(190) NOT NULL,
  old_email  VARCHAR(254) NOT NULL,
  new_email  VARCHAR(254) NOT NULL,
  noticed_at DATETIME(3)  NOT NULL,
  PRIMARY KEY (id),
  KEY ix_email_changes_user (user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every request at first sight (fingerprint and the content to attest), and
-- where it stands: only the sha256 of its token is kept, never the token.
CREATE TABLE IF NOT EXISTS requests (
  withdrawal_id    BIGINT        NOT NULL,
  user_id          VARCHAR(190)  NOT NULL,
  fingerprint      CHAR(64)      NOT NULL,
  content          VARCHAR(2000) NULL,
  first_seen_at    DATETIME(3)   NOT NULL,
  state            VARCHAR(10)   NOT NULL,
  token_hash       CHAR(64)      NULL,
  superseded_hashes VARCHAR(700)  NULL,
  token_expires_at DATETIME(3)   NULL,
  token_sent_at    DATETIME(3)   NULL,
  tokens_issued    INT           NOT NULL DEFAULT 0,
  wrong_tokens     INT           NOT NULL DEFAULT 0,
  confirmed_at     DATETIME(3)   NULL,
  attested_at      DATETIME(3)   NULL,
  signature        CHAR(128)     NULL,
  published_at     DATETIME(3)   NULL,
  note             VARCHAR(1000) NULL,
  PRIMARY KEY (withdrawal_id),
  KEY ix_requests_state (state, withdrawal_id),
  KEY ix_requests_user (user_id),
  CONSTRAINT ck_requests_state CHECK (state IN ('waiting', 'new', 'sending', 'sent', 'confirmed', 'attested', 'changed', 'locked', 'expired', 'closed', 'unpayable'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Mail that carries no secret (email-change notices, operator alerts), kept
-- until sent so a crash loses none. Token mails never come here.
CREATE TABLE IF NOT EXISTS outbox (
  id         BIGINT        NOT NULL AUTO_INCREMENT,
  kind       VARCHAR(32)   NOT NULL,
  recipient  VARCHAR(254)  NULL,
  subject    VARCHAR(500)  NOT NULL,
  body       TEXT          NOT NULL,
  facts      TEXT          NOT NULL,
  created_at DATETIME(3)   NOT NULL,
  sent_at    DATETIME(3)   NULL,
  attempts   INT           NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY ix_outbox_pending (sent_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every relayed token the verifier judged (by the web row's id; never the
-- token): a relay committed late, below the cursor, is still judged once.
CREATE TABLE IF NOT EXISTS relays (
  relay_id      BIGINT       NOT NULL,
  withdrawal_id BIGINT       NOT NULL,
  outcome       VARCHAR(32)  NOT NULL,
  judged_at     DATETIME(3)  NOT NULL,
  PRIMARY KEY (relay_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- How far the verifier has read the web database's requests and relayed tokens, and its last email sync.
CREATE TABLE IF NOT EXISTS cursors (
  name  VARCHAR(32) NOT NULL,
  value BIGINT      NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The verifier's own record of what it decided and why (never a token): the
-- same signed, hash-chained audit log as the web database's (audit-chain.ts),
-- every entry signed by the verifier's key in the transaction of the step it
-- records. `coldpool verifier status` checks the chain.
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
  UNIQUE KEY uq_audit_log_hash (hash),
  KEY ix_audit_log_subject (subject, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS audit_head (
  id   TINYINT  NOT NULL,
  seq  BIGINT   NOT NULL,
  hash CHAR(64) NOT NULL,
  PRIMARY KEY (id),
  CONSTRAINT ck_audit_head_id CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE IF NOT EXISTS audit_signatures (
  seq        BIGINT    NOT NULL,
  key_id     CHAR(16)  NOT NULL,
  signature  CHAR(128) NOT NULL,
  PRIMARY KEY (seq),
  CONSTRAINT fk_audit_signatures_log FOREIGN KEY (seq) REFERENCES audit_log (seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
