import { approvalContentFor, approvalContentJson, parseApprovalContent, sameApprovalContent, type ApprovalContent } from './approval.js';
import { checkAttestation, verifierKeyOf, type Attestation, type StoredAttestation } from './attestation.js';
import { isCoded } from './errors.js';
import type { Network } from './network.js';
import { checkApprovals, type Approval, type ApprovalCheck, type TrustedOperator, type Trust } from './trust.js';
import type { RequestContent } from './withdrawal-rules.js';

/**
 * What the stored approvals of one withdrawal are worth now, on the operator
 * box: the approve command (does this approval complete it?) and `payout
 * build` (may it be paid?) both decide here, from the rows as read and the
 * box's own trust file. Nothing a row says is believed: a row counts only
 * when the content it claims to have signed is exactly what the request says
 * now and its signature verifies under a trusted key.
 */

/** One approval as stored (schema 006 `withdrawal_signatures`): claims until checked. */
export interface StoredApproval {
  readonly keyId: string;
  /** The name written with it; shown, never trusted (the trust file names the key). */
  readonly operator: string;
  /** The JSON text of the signed content, as stored. */
  readonly content: string;
  readonly signature: string;
}

export interface Standing extends ApprovalCheck {
  /** The approvals whose content is the current content (the ones `checkApprovals` weighed). */
  readonly matching: readonly Approval[];
  /** Stored approvals over other content (the row changed after they were made) or over unreadable content. */
  readonly mismatched: number;
}

/**
 * Weigh `stored` for `current` under `trust`; `atLeast` raises the number of
 * distinct operators required (the policy's approvalsRequired) but never
 * lowers the trust file's.
 */
export function approvalStanding(trust: Trust, current: ApprovalContent, stored: readonly StoredApproval[], atLeast = 1): Standing {
  const matching: Approval[] = [];
  let mismatched = 0;
  // Honest writers store the canonical text, so comparing text is exact and spares a parse per row; any other spelling counts for nothing.
  const text = JSON.stringify(approvalContentJson(current));
  for (const s of stored) {
    if (s.content === text) matching.push({ keyId: s.keyId, signature: s.signature });
    else mismatched++;
  }
  const check = checkApprovals(trust, current, matching);
  const required = Math.max(check.required, atLeast);
  return { ...check, required, covered: check.valid.length >= required, matching, mismatched };
}

/** Why `payout build` leaves an approved withdrawal out; `not attested`: the trust file names a verifier and no valid attestation of it covers the approved content. */
export type LeftOutReason = 'changed after approval' | 'never seen by an operator' | 'approvals missing' | 'not attested';

/** What the build knows of one approved withdrawal: its row now, its first-sight fingerprint, its stored approvals and attestations. */
export interface ApprovalEvidence {
  readonly request: RequestContent;
  /** undefined when the operator tool never read the row (it arrived "approved" by other means). */
  readonly seenFingerprint: string | undefined;
  readonly approvals: readonly StoredApproval[];
  /** The verifier's rows (schema 008 `attestations`): claims until checked against the trust file's verifier key. */
  readonly attestations: readonly StoredAttestation[];
}

export type Payability =
  | {
    readonly payable: true; readonly content: ApprovalContent; readonly signatures: readonly Approval[]; readonly approvers: readonly TrustedOperator[];
    /** The verifier's attestation that counted; undefined when the trust file names no verifier. */
    readonly attestation: Attestation | undefined;
  }
  | { readonly payable: false; readonly reason: LeftOutReason; readonly detail: string };

/**
 * May this approved withdrawal be paid as its row stands? Only when the
 * content signed is the content now (approvalContentFor the current row and
 * its first-sight fingerprint), enough distinct trusted operators signed
 * exactly that, and, when the trust file names a verifier, the verifier
 * attested exactly that content too. The signatures returned are the valid
 * ones, one per operator, and the attestation the one that verified: what
 * the manifest carries to the signer.
 */
export function payability(network: Network, trust: Trust, e: ApprovalEvidence): Payability {
  const id = e.request.id;
  if (e.seenFingerprint === undefined) {
    return { payable: false, reason: 'never seen by an operator', detail: `withdrawal ${id} was never read by the operator tool, so no operator can have approved it` };
  }
  let current: ApprovalContent;
  try {
    current = approvalContentFor(network, e.request, e.seenFingerprint);
  } catch (err) {
    if (!isCoded(err)) throw err;
    return { payable: false, reason: 'changed after approval', detail: `withdrawal ${id} no longer reads as a request (${err.message})` };
  }
  const s = approvalStanding(trust, current, e.approvals);
  if (s.covered) {
    // The signature that made each operator count: a forged row under the same key id (bad signature) must not ride to the signer instead.
    const uncounted = new Set(s.problems.filter((p) => p.problem !== 'duplicate key').map((p) => p.index));
    const byKey = new Map<string, Approval>();
    s.matching.forEach((a, i) => {
      if (!uncounted.has(i) && !byKey.has(a.keyId)) byKey.set(a.keyId, a);
    });
    const attested = checkAttestation(trust, current, e.attestations);
    if (attested.state === 'missing' || attested.state === 'invalid') return notAttested(trust, id, attested.state, attested.problems);
    return { payable: true, content: current, approvers: s.valid, signatures: s.valid.map((o) => byKey.get(o.id)!), attestation: attested.attestation };
  }
  if (s.mismatched > 0) {
    const signed = e.approvals.map(signedContentOf).find((c) => c !== undefined && !sameApprovalContent(c, current));
    const was = signed ? `; signed: ${signed.amountSat} sat to script ${signed.script} for ${signed.user}` : '';
    return {
      payable: false, reason: 'changed after approval',
      detail: `withdrawal ${id} now pays ${current.amountSat} sat to script ${current.script} for ${current.user}${was}; ${s.valid.length} of ${s.required} approvals still match`,
    };
  }
  const problems = s.problems.map((p) => `${p.keyId}: ${p.problem}`).join(', ');
  return { payable: false, reason: 'approvals missing', detail: `withdrawal ${id} has ${s.valid.length} of ${s.required} valid approvals under the trust file${problems ? ` (not counted: ${problems})` : ''}` };
}

function notAttested(trust: Trust, id: bigint, state: 'missing' | 'invalid', problems: readonly string[]): Payability {
  const verifier = verifierKeyOf(trust)!.id;
  const detail = state === 'missing'
    ? `withdrawal ${id} has no attestation by verifier ${verifier} yet (the user has not confirmed it, or the verifier holds it)`
    // Rows that do not verify are what an attacker with the web database would write: say so, the operator should look.
    : `withdrawal ${id} has ${problems.length} attestation row(s), none valid under verifier ${verifier} (forged or edited?): ${problems.join('; ')}`;
  return { payable: false, reason: 'not attested', detail };
}

/** The content a stored approval claims it signed, or undefined when the text is not one. */
function signedContentOf(s: StoredApproval): ApprovalContent | undefined {
  try {
    return parseApprovalContent(JSON.parse(s.content));
  } catch {
    return undefined;
  }
}
