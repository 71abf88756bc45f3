import type { ManifestOutput } from './payout-manifest.js';
import type { NetworkName } from './network.js';
import { checkApprovals, operatorById, type ApprovalProblem, type Trust } from './trust.js';

/**
 * Who approved each external output of a payout, and whether that is enough
 * for the signer: the operators' signatures carried by the manifest, checked
 * against the signer's own trust file. Pure; psbt-inspect.ts calls it and
 * turns the problems into refusals.
 *
 * An approval covers an output only when its signed content names exactly
 * that output (the signer's network, the output's scriptPubKey, its value)
 * and enough distinct trusted operators signed exactly that content. The
 * manifest's address and withdrawal_id are the online side's words and
 * count for nothing here: the content is what was signed.
 */

export interface ApproverReview {
  readonly keyId: string;
  /** The operator's name in the trust file; null without a trust file or for an unknown key. */
  readonly operator: string | null;
  /** True: a trusted operator's signature over exactly this content; false: counts for nothing; null: not checked (no trust file). */
  readonly valid: boolean | null;
  readonly problem: ApprovalProblem | null;
}

export interface OutputApprovalReview {
  /** The withdrawal the content names (the signed id, not the manifest's withdrawal_id). */
  readonly withdrawalId: bigint;
  /** The signed first-sight fingerprint: with the id, what the signer remembers an approval by. */
  readonly fingerprint: string;
  readonly approvers: readonly ApproverReview[];
  /** Distinct trusted operators the amount needs; null without a trust file. */
  readonly required: number | null;
  /** True when the content is this output's and `required` distinct operators signed it; null without a trust file. */
  readonly covered: boolean | null;
  /** Why the signed content is not this output's (network, script, amount), or null. */
  readonly mismatch: string | null;
}

export type ApprovalFindingCode =
  | 'APPROVAL_MISSING' | 'APPROVAL_MISMATCH' | 'APPROVAL_UNKNOWN_KEY' | 'APPROVAL_BAD_SIGNATURE' | 'APPROVALS_TOO_FEW' | 'APPROVAL_REUSED';

export interface ApprovalFinding {
  readonly code: ApprovalFindingCode;
  readonly message: string;
  readonly output: number;
}

export interface OutputToCheck {
  readonly index: number;
  readonly address: string | null;
  readonly scriptHex: string;
  readonly amountSat: bigint;
}

/**
 * One review per output (undefined where there is nothing to show: no trust
 * file and no approval), and one refusal per external output that is not
 * covered. `entries[k]` is the manifest entry output k was matched with;
 * `external` says which outputs need an approval (change recognised by
 * derivation does not).
 */
export function reviewOutputApprovals(
  outputs: readonly OutputToCheck[],
  entries: readonly (ManifestOutput | undefined)[],
  external: readonly boolean[],
  network: NetworkName,
  trust: Trust | undefined,
): { approvals: (OutputApprovalReview | null | undefined)[]; findings: ApprovalFinding[] } {
  const findings: ApprovalFinding[] = [];
  const firstUse = new Map<bigint, number>();
  const approvals = outputs.map((o, k): OutputApprovalReview | null | undefined => {
    const approval = entries[k]?.approval;
    const at = `output ${o.index} (${o.address ?? `script ${o.scriptHex}`}, ${o.amountSat} sat)`;
    const refuse = (code: ApprovalFindingCode, why: string): void => void findings.push({ code, message: `${at}: ${why}`, output: o.index });
    if (!approval) {
      if (trust === undefined || !external[k]) return undefined;
      // An output the manifest does not list is already refused as NOT_IN_MANIFEST; one refusal per cause.
      if (entries[k] !== undefined) refuse('APPROVAL_MISSING', 'no approval: the manifest carries no operator signature for this output');
      return null;
    }
    const c = approval.content;
    const mismatch = c.network !== network ? `the approval is for ${c.network}, the signer is ${network}`
      : c.script !== o.scriptHex ? `the approval is for script ${c.script}, the output pays script ${o.scriptHex}`
        : c.amountSat !== o.amountSat ? `the approval is for ${c.amountSat} sat, the output pays ${o.amountSat} sat`
          : null;
    if (trust === undefined) {
      return {
        withdrawalId: c.withdrawalId, fingerprint: c.fingerprint, required: null, covered: null, mismatch,
        approvers: approval.signatures.map((s) => ({ keyId: s.keyId, operator: null, valid: null, problem: null })),
      };
    }
    const check = checkApprovals(trust, c, approval.signatures);
    const problemAt = new Map(check.problems.map((p) => [p.index, p.problem]));
    const approvers = approval.signatures.map((s, i): ApproverReview => ({
      keyId: s.keyId, operator: operatorById(trust, s.keyId)?.name ?? null, valid: !problemAt.has(i), problem: problemAt.get(i) ?? null,
    }));
    const covered = mismatch === null && check.covered;
    if (external[k]) {
      const named = (problem: ApprovalProblem): string[] => approvers.filter((a) => a.problem === problem).map((a) => a.operator ?? a.keyId);
      const unknown = named('unknown key');
      const badSig = named('bad signature');
      const dup = named('duplicate key');
      const count = `${check.valid.length} of ${check.required} distinct trusted operators`;
      const detail = [
        ...(unknown.length ? [`approval(s) by unknown key(s) ${unknown.join(', ')}`] : []),
        ...(badSig.length ? [`signature(s) by ${badSig.join(', ')} not over this content (a different amount, script or request)`] : []),
        ...(dup.length ? [`a second signature by ${dup.join(', ')} counts once`] : []),
        ...(named('wrong network').length ? [`content for ${c.network}, the trust file is for ${trust.network}`] : []),
      ];
      if (mismatch !== null) refuse('APPROVAL_MISMATCH', mismatch);
      else if (!check.covered) {
        const only = (p: ApprovalProblem): boolean => check.valid.length === 0 && check.problems.length > 0 && check.problems.every((x) => x.problem === p);
        const code: ApprovalFindingCode = only('unknown key') ? 'APPROVAL_UNKNOWN_KEY' : check.valid.length === 0 && badSig.length > 0 ? 'APPROVAL_BAD_SIGNATURE' : 'APPROVALS_TOO_FEW';
        const why = code === 'APPROVAL_UNKNOWN_KEY' ? 'approvals by an unknown key' : code === 'APPROVAL_BAD_SIGNATURE' ? 'signature over a different amount, script or request' : 'too few distinct operators';
        refuse(code, `${why}: ${count}${detail.length ? ` (${detail.join('; ')})` : ''}`);
      }
      // One approval pays one output: a copy on a second output would pay the withdrawal twice.
      const first = firstUse.get(c.withdrawalId);
      if (first !== undefined) refuse('APPROVAL_REUSED', `the approval of withdrawal ${c.withdrawalId} already covers output ${first}: one approval pays once`);
      else firstUse.set(c.withdrawalId, o.index);
    }
    return { withdrawalId: c.withdrawalId, fingerprint: c.fingerprint, approvers, required: check.required, covered, mismatch };
  });
  return { approvals, findings };
}
