-- coldpool schema 007, SQLite: who signed each audit entry.
-- Never edit after it shipped; add 008_*.sql.
--
-- One row per signed audit_log entry, written in the same transaction as the
-- entry: the Ed25519 signature of the entry's hash by its author's key (an
-- operator's, or a program key listed under "auditors" in the trust file),
-- over "coldpool audit v1\n" || hash. An entry without a row here was written
-- before this schema or by a command run without a key; `coldpool audit
-- verify --trust FILE` names it. The signature is outside the hash (it signs
-- the hash), so older entries keep their chain.
CREATE TABLE IF NOT EXISTS audit_signatures (
  seq        INTEGER PRIMARY KEY REFERENCES audit_log (seq),
  key_id     TEXT    NOT NULL CHECK (length(key_id) = 16),
  signature  TEXT    NOT NULL CHECK (length(signature) = 128)
);
