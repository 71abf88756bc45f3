-- coldpool schema 008, MySQL 8 / MariaDB 10.6+: what the web database shares
-- with the verifier. Never edit after it shipped; add 009_*.sql. See
-- sql/sqlite/008_verifier.sql and sql/README.md ("The verifier").

-- The users' email addresses as the web app knows them. A web app with a
-- users table of its own replaces the view below with one over that table
-- (CREATE OR REPLACE VIEW coldpool_user_emails AS SELECT id AS user_id, email
-- FROM users); the verifier reads only the view, through its own account.
CREATE TABLE IF NOT EXISTS user_emails (
  user_id     VARCHAR(190) NOT NULL,
  email       VARCHAR(254) NOT NULL,
  PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE OR REPLACE VIEW coldpool_user_emails AS SELECT user_id, email FROM user_emails;

-- Confirmation tokens the web app relayed when the user clicked the link the
-- verifier emailed. The web account may only INSERT here (withdrawal_id,
-- token); the verifier reads the rows in id order and accepts a token once.
CREATE TABLE IF NOT EXISTS withdrawal_confirmations (
  id            BIGINT       NOT NULL AUTO_INCREMENT,
  withdrawal_id BIGINT       NOT NULL,
  token         VARCHAR(200) NOT NULL,
  relayed_at    DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The verifier's signed testimony that the user confirmed a request that did
-- not change since the verifier first saw it. Only the verifier's account may
-- INSERT; a row counts only when its signature verifies under the verifier
-- key of the reader's trust file, so the key is (withdrawal, signature): a
-- forged row cannot take the place of the real one.
CREATE TABLE IF NOT EXISTS attestations (
  withdrawal_id BIGINT        NOT NULL,
  key_id        CHAR(16)      NOT NULL,
  content       VARCHAR(2000) NOT NULL,
  signature     CHAR(128)     NOT NULL,
  attested_at   DATETIME(3)   NOT NULL,
  PRIMARY KEY (withdrawal_id, signature)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
