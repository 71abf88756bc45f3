import { verifierKeyOf, verifyAttestation } from './attestation.js';
import type { ManifestOutput } from './payout-manifest.js';
import type { OutputToCheck } from './output-approvals.js';
import type { Trust } from './trust.js';

/**
 * Whether the verifier vouched for each external output of a payout: the
 * attestation the manifest carries beside the operators' approval, checked
 * against the signer's own trust file. Pure; psbt-inspect.ts calls it and
 * turns the problems into refusals.
 *
 * An attestation covers an output only when it is the signature of the trust
 * file's verifier key over exactly the approval content of that output (the
 * content the operators signed, which output-approvals.ts matches with the
 * output's script and amount). Its key id is the manifest's word: shown,
 * compared, never used to pick a key.
 */

export interface OutputAttestationReview {
  /** The key id the manifest claims made the attestation. */
  readonly keyId: string;
  /** The trust file's verifier key id; null without a trust file or when it names no verifier. */
  readonly verifier: string | null;
  /** True: the trusted verifier signed exactly this output's approval content; false: counts for nothing; null: not checked. */
  readonly valid: boolean | null;
  /** Why it counts for nothing, or null. */
  readonly problem: string | null;
}

export type AttestationFindingCode = 'ATTESTATION_MISSING' | 'ATTESTATION_INVALID';

export interface AttestationFinding {
  readonly code: AttestationFindingCode;
  readonly message: string;
  readonly output: number;
}

/**
 * One review per output (undefined where there is nothing to show: no
 * verifier in the trust file and no attestation in the manifest; null when
 * the verifier's attestation is required and the output has none), and one
 * refusal per external output the verifier did not vouch for. `entries[k]`
 * is the manifest entry output k was matched with; `mismatched[k]` says its
 * approval content is not this output's (already refused as
 * APPROVAL_MISMATCH: one refusal per cause).
 */
export function reviewOutputAttestations(
  outputs: readonly OutputToCheck[],
  entries: readonly (ManifestOutput | undefined)[],
  external: readonly boolean[],
  mismatched: readonly boolean[],
  trust: Trust | undefined,
): { attestations: (OutputAttestationReview | null | undefined)[]; findings: AttestationFinding[] } {
  const verifier = trust ? verifierKeyOf(trust) : undefined;
  const findings: AttestationFinding[] = [];
  const attestations = outputs.map((o, k): OutputAttestationReview | null | undefined => {
    const entry = entries[k];
    const attestation = entry?.attestation;
    const at = `output ${o.index} (${o.address ?? `script ${o.scriptHex}`}, ${o.amountSat} sat)`;
    const refuse = (code: AttestationFindingCode, why: string): void => void findings.push({ code, message: `${at}: ${why}`, output: o.index });
    if (!attestation) {
      if (verifier === undefined || !external[k]) return undefined;
      // Not in the manifest at all is NOT_IN_MANIFEST already; one refusal per cause.
      if (entry !== undefined) refuse('ATTESTATION_MISSING', `no attestation: the trust file names verifier ${verifier.id} and the manifest carries no attestation of it for this output (the user has not confirmed it, or the operator box's trust file names no verifier)`);
      return null;
    }
    if (verifier === undefined) return { keyId: attestation.keyId, verifier: null, valid: null, problem: null };
    // parseManifest refuses an attestation without its approval, so the content is there.
    const content = entry!.approval!.content;
    const problem = attestation.keyId !== verifier.id
      ? `signed by key ${attestation.keyId}, not the trusted verifier ${verifier.id}`
      : !verifyAttestation(content, attestation.signature, verifier.key)
        ? `the signature does not verify under verifier ${verifier.id} over this output's approval content (forged, or made for another request, amount or script)`
        : null;
    if (problem !== null && external[k] && !mismatched[k]) refuse('ATTESTATION_INVALID', problem);
    return { keyId: attestation.keyId, verifier: verifier.id, valid: problem === null, problem };
  });
  return { attestations, findings };
}
