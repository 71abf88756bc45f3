/**
 * The withdrawal side of the store: requests (web host), review decisions and
 * the audit chain (operator box). Implemented once over SQL in
 * src/store/withdrawal-store.ts, with a SQLite and a MySQL connection
 * (withdrawal-store-sqlite.ts, withdrawal-store-mysql.ts).
 */
import type { AuditEntry, ChainVerdict } from './audit-chain.js';
import type { Network } from './network.js';
import type { RiskFlag, WithdrawalPolicy } from './withdrawal-policy.js';
import type { ValidRequest } from './withdrawal-rules.js';
import type { WithdrawalStatus } from './withdrawal-state.js';

export interface WithdrawalRecord {
  readonly id: bigint;
  readonly appId: string;
  readonly user: string;
  readonly destination: string;
  readonly amountSat: bigint;
  /** As stored; a row written by raw SQL may hold anything, hence string. */
  readonly status: WithdrawalStatus | string;
  /** ISO-8601 UTC. */
  readonly createdAt: string;
  readonly reviewer: string | undefined;
  readonly reason: string | undefined;
  readonly decidedAt: string | undefined;
  readonly payoutId: bigint | undefined;
}

/** A request as the operator sees it: with its flags and approvals so far. */
export interface ReviewedWithdrawal extends WithdrawalRecord {
  readonly flags: readonly RiskFlag[];
  readonly approvals: readonly string[];
  /** Output type of the destination (p2wpkh, …), undefined when it does not parse. */
  readonly outputType: string | undefined;
}

export type RequestOutcome =
  | { readonly kind: 'created'; readonly withdrawal: WithdrawalRecord }
  | { readonly kind: 'existing'; readonly withdrawal: WithdrawalRecord };

export interface ObserveOutcome {
  /** Requests fingerprinted by this call. */
  readonly seen: number;
  /** Requests this call marked invalid, with their reason. */
  readonly invalid: readonly { readonly id: bigint; readonly reason: string; readonly message: string }[];
}

export interface ListQuery {
  readonly status?: WithdrawalStatus;
  readonly user?: string;
  readonly destination?: string;
  /** Keyset paging: ids greater than this (ascending order). */
  readonly afterId?: bigint;
  readonly limit: number;
}

export interface Totals {
  readonly count: number;
  readonly amountSat: bigint;
}

export interface DecisionOutcome {
  readonly id: bigint;
  readonly status: WithdrawalStatus;
  readonly approvals: readonly string[];
  readonly approvalsRequired: number;
}

export interface ApproveOptions {
  /** Approve although the request changed since first seen (audited). */
  readonly overrideChanged?: boolean;
  /** Refuse (REFUSED) if the request has any flag when decided ("approve all unflagged"). */
  readonly onlyIfUnflagged?: boolean;
}

/**
 * Errors: INVALID_INPUT / NETWORK_MISMATCH for a refused request (with
 * `context.reason`), STATE_CONFLICT for a move the current state does not
 * allow or that lost a race (the message names the current state), REFUSED
 * for an approval the policy forbids, NOT_FOUND for an unknown id,
 * UNAVAILABLE when the database cannot be reached.
 */
export interface WithdrawalStore {
  readonly dialect: 'sqlite' | 'mysql';
  readonly label: string;
  /** The pool's network (the pinned account's), or the one configured. */
  network(): Promise<Network>;
  /** Web door: insert a validated request; the same app id with the same content returns the existing one. */
  request(valid: ValidRequest): Promise<RequestOutcome>;
  /** Operator's first read: fingerprint new requests, mark the ones breaking a rule invalid (audited). */
  observe(actor: string): Promise<ObserveOutcome>;
  list(query: ListQuery, policy: WithdrawalPolicy): Promise<ReviewedWithdrawal[]>;
  get(id: bigint, policy: WithdrawalPolicy): Promise<ReviewedWithdrawal | undefined>;
  totals(status: WithdrawalStatus): Promise<Totals>;
  approve(id: bigint, actor: string, policy: WithdrawalPolicy, opts?: ApproveOptions): Promise<DecisionOutcome>;
  reject(id: bigint, actor: string, reason: string): Promise<DecisionOutcome>;
  /** Any other arrow of the state table (cancel, payout moves), guarded and audited. */
  move(id: bigint, to: WithdrawalStatus, actor: string, data?: Record<string, unknown>): Promise<DecisionOutcome>;
  /** Append one audit entry in its own transaction (for actions without a state change). */
  audit(actor: string, action: string, subject: string, data: Record<string, unknown>): Promise<AuditEntry>;
  auditEntries(): AsyncIterable<AuditEntry>;
  verifyAudit(): Promise<ChainVerdict>;
  close(): Promise<void>;
}
