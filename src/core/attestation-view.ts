import { approvalContentFor, type ApprovalContent } from './approval.js';
import { checkAttestation, verifierKeyOf, type AttestationState, type StoredAttestation } from './attestation.js';
import { isCoded } from './errors.js';
import type { Network } from './network.js';
import type { Trust } from './trust.js';
import type { RequestContent } from './withdrawal-rules.js';

/**
 * What the review screens say about a request's attestation: the same check
 * `payout build` makes (checkAttestation over the content the operators
 * approve: the row now with its first-sight fingerprint), shown before
 * anyone approves. Approving without an attestation is allowed (operators
 * may decide first); the build and the signer are the ones that wait for it.
 */
export interface AttestationView {
  readonly state: AttestationState;
  /** The trust file's verifier key id; undefined when it names none (or there is no trust file). */
  readonly verifier: string | undefined;
  /** Why rows were not counted (forged, another key, other content). */
  readonly problems: readonly string[];
  /**
   * The verifier's latest note on the request (verifier_notes, schema 010):
   * why it is not attested (held: above the user's balance at the verifier,
   * an email change). Information for the operator, never a testimony.
   */
  readonly note?: string | undefined;
}

/** A request as read for review: its row, its first sight and the verifier's rows. */
export interface AttestedRequest extends RequestContent {
  readonly seenFingerprint: string | undefined;
  readonly attestations: readonly StoredAttestation[];
}

/** Weigh `w`'s attestation rows under `trust` (undefined: no trust file, so nothing is required). */
export function attestationView(network: Network, trust: Trust | undefined, w: AttestedRequest): AttestationView {
  const verifier = trust ? verifierKeyOf(trust) : undefined;
  if (!trust || !verifier) return { state: 'no-verifier', verifier: undefined, problems: [] };
  let content: ApprovalContent | undefined;
  try {
    content = w.seenFingerprint === undefined ? undefined : approvalContentFor(network, w, w.seenFingerprint);
  } catch (e) {
    if (!isCoded(e)) throw e;
  }
  if (content === undefined) {
    // Nothing an operator could approve, so nothing an attestation could cover.
    return w.attestations.length === 0 ? { state: 'missing', verifier: verifier.id, problems: [] }
      : { state: 'invalid', verifier: verifier.id, problems: w.attestations.map(() => 'the request has no approval content yet (not seen, or does not read as a request)') };
  }
  const c = checkAttestation(trust, content, w.attestations);
  return { state: c.state, verifier: verifier.id, problems: c.problems };
}

/** One line for a person: "attested by verifier …", "not attested yet", "INVALID attestation row (forged?)", "no verifier configured". */
export function attestationText(v: AttestationView): string {
  switch (v.state) {
    case 'attested': return `attested by verifier ${v.verifier}`;
    case 'missing': return v.note && v.note !== 'attested' ? `not attested yet; the verifier says: ${v.note}` : 'not attested yet';
    case 'invalid': return `INVALID attestation row (forged?): ${v.problems.join('; ')}`;
    case 'no-verifier': return 'no verifier configured';
  }
}

/** The short form for a table cell. */
export function attestationCell(v: AttestationView): string {
  return v.state === 'attested' ? 'attested' : v.state === 'missing' ? (v.note?.startsWith('held') ? 'held' : 'not yet') : v.state === 'invalid' ? 'INVALID' : '-';
}
