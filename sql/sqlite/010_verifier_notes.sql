-- coldpool schema 010, SQLite: why the verifier does not attest a request
-- (a hold: no balance at the verifier, an email change), as the verifier
-- published it. The verifier INSERTs only (a note is never edited; the
-- latest one counts); `coldpool withdrawals list/show` show the latest next
-- to the attestation state. A note is information for review, never a
-- testimony: only an attestation that verifies under the trust file's key
-- makes a request payable. See sql/mysql/010_verifier_notes.sql.
CREATE TABLE IF NOT EXISTS verifier_notes (
  withdrawal_id INTEGER NOT NULL,
  note          TEXT    NOT NULL,
  noted_at      TEXT    NOT NULL,
  PRIMARY KEY (withdrawal_id, noted_at)
);
