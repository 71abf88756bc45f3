/**
 * Flow 8, review (operator box): read the queue, then approve, reject or
 * cancel. Reading is the operator tool's "first sight": `observe` fingerprints
 * new requests (a later edit shows as changed_since_first_seen) and marks the
 * ones that break an intake rule invalid. The store refuses to approve a
 * request it has not seen, so the one-shot decisions below observe first; the
 * review screen observes when it opens and on refresh instead, so that what
 * it shows is what was fingerprinted.
 */
import { attestationView, type AttestationView } from '../core/attestation-view.js';
import { CodedError, isCoded } from '../core/errors.js';
import type { Trust } from '../core/trust.js';
import type {
  ApproveOptions, Approver, DecisionOutcome, ObserveOutcome, ReviewedWithdrawal, Totals, WithdrawalStore,
} from '../core/ports.js';
import type { WithdrawalPolicy } from '../core/withdrawal-policy.js';
import type { WithdrawalStatus } from '../core/withdrawal-state.js';

/** Rows of a history: enough for the latest ten, in one read. */
const HISTORY_READ = 10_000;
const HISTORY_SHOWN = 10;
/** Keyset page when collecting every unflagged pending request. */
const UNFLAGGED_PAGE = 500;
const MAX_REASON = 1000;

/**
 * A refusal the operator can act on (wrong state, policy, flags, unknown id),
 * as opposed to a failure (database gone, a bug) after which deciding on the
 * next request makes no sense.
 */
export function isRefusal(e: unknown): e is CodedError {
  return isCoded(e) && e.code !== 'UNAVAILABLE' && e.code !== 'INTERNAL';
}

/** First sight of what came in since the last read. */
export function observeQueue(store: WithdrawalStore, actor: string): Promise<ObserveOutcome> {
  return store.observe(actor);
}

export interface QueueQuery {
  /** One status, or `all` (then no totals). */
  readonly status: WithdrawalStatus | 'all';
  readonly user?: string;
  readonly afterId?: bigint;
  readonly limit: number;
}

export interface Queue {
  readonly rows: ReviewedWithdrawal[];
  /** Count and sum of every request in `status` (not only the rows), undefined for `all`. */
  readonly totals: Totals | undefined;
  /** Requests this read marked invalid. */
  readonly invalid: ObserveOutcome['invalid'];
}

/** `withdrawals list`: observe, then one page of the queue with its totals. */
export async function listQueue(store: WithdrawalStore, actor: string, policy: WithdrawalPolicy, query: QueueQuery): Promise<Queue> {
  const observed = await store.observe(actor);
  const rows = await store.list({
    ...(query.status === 'all' ? {} : { status: query.status }),
    ...(query.user !== undefined ? { user: query.user } : {}),
    ...(query.afterId !== undefined ? { afterId: query.afterId } : {}),
    limit: query.limit,
  }, policy);
  const totals = query.status === 'all' ? undefined : await store.totals(query.status);
  return { rows, totals, invalid: observed.invalid };
}

/** One page of the pending requests and the totals of all of them (the review screen; no observe). */
export async function pendingPage(store: WithdrawalStore, policy: WithdrawalPolicy, afterId: bigint | undefined, limit: number): Promise<{ rows: ReviewedWithdrawal[]; totals: Totals }> {
  const totals = await store.totals('requested');
  const rows = await store.list({ status: 'requested', afterId, limit }, policy);
  return { rows, totals };
}

export interface WithdrawalDetail {
  readonly withdrawal: ReviewedWithdrawal;
  /** The user's other requests, latest last (at most ten). */
  readonly userHistory: ReviewedWithdrawal[];
  /** Other requests to the same destination, latest last (at most ten). */
  readonly destinationHistory: ReviewedWithdrawal[];
}

/** One request with the histories an operator weighs it against, or undefined when it is gone. */
export async function withdrawalDetail(store: WithdrawalStore, policy: WithdrawalPolicy, id: bigint): Promise<WithdrawalDetail | undefined> {
  const w = await store.get(id, policy);
  if (!w) return undefined;
  const others = (rows: ReviewedWithdrawal[]) => rows.filter((x) => x.id !== w.id).slice(-HISTORY_SHOWN);
  const userHistory = others(await store.list({ user: w.user, limit: HISTORY_READ }, policy));
  const destinationHistory = others(await store.list({ destination: w.destination, limit: HISTORY_READ }, policy));
  return { withdrawal: w, userHistory, destinationHistory };
}

/** What became of one id of a batch approval. */
export type ApproveResult =
  | { readonly id: bigint; readonly outcome: DecisionOutcome; readonly error?: undefined }
  | { readonly id: bigint; readonly error: CodedError; readonly outcome?: undefined };

export interface ApproveEachOptions extends ApproveOptions {
  /**
   * Called as each decision lands: every approval is its own transaction, so
   * when a later one throws the earlier ones stand and the operator must
   * still be told about them.
   */
  readonly onResult?: (r: ApproveResult) => void;
}

/** Approve one request (no observe): the outcome, or the store's refusal thrown. */
export function approveWithdrawal(store: WithdrawalStore, approver: Approver, policy: WithdrawalPolicy, id: bigint, opts: ApproveOptions = {}): Promise<DecisionOutcome> {
  return store.approve(id, approver, policy, opts);
}

/**
 * Approve each id in its own transaction, in order: one refused id does not
 * stop the others. `stop` picks the coded errors that end the batch (thrown);
 * any other coded error becomes that id's result. Errors that are not coded
 * (bugs) are thrown.
 */
async function approveEach(
  store: WithdrawalStore, approver: Approver, policy: WithdrawalPolicy, ids: readonly bigint[], opts: ApproveEachOptions, stop: (e: CodedError) => boolean,
): Promise<ApproveResult[]> {
  const { onResult, ...approve } = opts;
  const results: ApproveResult[] = [];
  for (const id of ids) {
    let r: ApproveResult;
    try {
      r = { id, outcome: await store.approve(id, approver, policy, approve) };
    } catch (e) {
      if (!isCoded(e) || stop(e)) throw e;
      r = { id, error: e };
    }
    results.push(r);
    onResult?.(r);
  }
  return results;
}

/**
 * `withdrawals approve ID…`: observe, then approve each id, one result per id
 * (an approval still short of `approvalsRequired` stays `requested`). Every
 * coded error, a lost database included, is that id's result: a script gets
 * the whole list and decides.
 */
export async function approveWithdrawals(store: WithdrawalStore, approver: Approver, policy: WithdrawalPolicy, ids: readonly bigint[], opts: ApproveEachOptions = {}): Promise<ApproveResult[]> {
  await store.observe(approver.operator.name);
  return approveEach(store, approver, policy, ids, opts, () => false);
}

/** Every pending request without a flag that `actor` has not approved yet, oldest first. */
export async function unflaggedPending(store: WithdrawalStore, actor: string, policy: WithdrawalPolicy): Promise<ReviewedWithdrawal[]> {
  const out: ReviewedWithdrawal[] = [];
  for (let after: bigint | undefined; ;) {
    const rows = await store.list({ status: 'requested', afterId: after, limit: UNFLAGGED_PAGE }, policy);
    if (rows.length === 0) return out;
    out.push(...rows.filter((w) => w.flags.length === 0 && !w.approvals.includes(actor)));
    after = rows[rows.length - 1]!.id;
  }
}

/**
 * "Approve all unflagged" (no observe: the screen shows what it observed).
 * Each is approved only if it still has no flag when decided; a refusal is
 * that id's result, a failure ends the batch.
 */
export function approveUnflagged(store: WithdrawalStore, approver: Approver, policy: WithdrawalPolicy, ids: readonly bigint[], opts: Pick<ApproveEachOptions, 'onResult'> = {}): Promise<ApproveResult[]> {
  return approveEach(store, approver, policy, ids, { ...opts, onlyIfUnflagged: true }, (e) => !isRefusal(e));
}

/** Reject one request with a reason (no observe; the store checks the reason: USAGE when blank or too long). */
export function rejectPending(store: WithdrawalStore, actor: string, id: bigint, reason: string): Promise<DecisionOutcome> {
  return store.reject(id, actor, reason);
}

/** `withdrawals reject ID --reason R`: observe, then reject. */
export async function rejectWithdrawal(store: WithdrawalStore, actor: string, id: bigint, reason: string): Promise<DecisionOutcome> {
  await store.observe(actor);
  return store.reject(id, actor, reason);
}

/**
 * The reason of a cancellation, trimmed; USAGE when blank or longer than
 * 1000 characters. Exported so a command can refuse a bad reason before it
 * opens the database.
 */
export function cancelReason(text: string): string {
  const reason = text.trim();
  if (reason === '') throw new CodedError('USAGE', '"--reason" expected a non-empty reason for the cancellation, got ""', { hint: 'the reason is shown to whoever reads the audit log' });
  if (reason.length > MAX_REASON) throw new CodedError('USAGE', `"--reason" expected at most ${MAX_REASON} characters, got ${reason.length}`);
  return reason;
}

/**
 * `withdrawals cancel ID --reason R`: observe, then move requested or
 * approved → cancelled. The move is guarded like every other: once a payout
 * holds the request it is STATE_CONFLICT. The audit entry records the state
 * it left.
 */
export async function cancelWithdrawal(store: WithdrawalStore, actor: string, id: bigint, reason: string): Promise<DecisionOutcome> {
  const text = cancelReason(reason);
  await store.observe(actor);
  return store.move(id, 'cancelled', actor, { reason: text });
}

/**
 * Each row's attestation weighed under `trust` (undefined: no trust file) on
 * the store's network: what the review screens show next to the flags. The
 * same check `payout build` makes, made early so an operator sees a request
 * the user has not confirmed, or a forged row, before approving it.
 */
export async function attestationViews(store: WithdrawalStore, trust: Trust | undefined, rows: readonly ReviewedWithdrawal[]): Promise<AttestationView[]> {
  if (!trust?.verifier) return rows.map(() => ({ state: 'no-verifier', verifier: undefined, problems: [] }));
  const network = await store.network();
  // The verifier's hold notes say why a request is not attested (shown only while it is not).
  const notes = await store.verifierNotes(rows.map((w) => w.id));
  return rows.map((w) => {
    const v = attestationView(network, trust, w);
    const note = notes.get(w.id)?.note;
    return v.state === 'attested' || note === undefined ? v : { ...v, note };
  });
}
