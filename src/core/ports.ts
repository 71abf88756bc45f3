/**
 * The ports coldpool's flows talk to, all in this one module. Adapters
 * (src/store: one database handle with its repositories; src/chain/*;
 * src/notify/*) implement them; core and flows import only these types, never
 * an adapter.
 */
import type { AuditEntry, ChainVerdict } from './audit-chain.js';
import type { Network, NetworkName } from './network.js';
import type { BuiltPayout } from './psbt-build.js';
import type { RiskFlag, WithdrawalPolicy } from './withdrawal-policy.js';
import type { ApprovalContent } from './approval.js';
import type { ApprovalEvidence, LeftOutReason } from './approval-standing.js';
import type { StoredAttestation } from './attestation.js';
import type { Trust, TrustedOperator } from './trust.js';
import type { ValidRequest } from './withdrawal-rules.js';
import type { AbandonKind, PayoutStatus } from './payout-state.js';
import type { WithdrawalStatus } from './withdrawal-state.js';

/** The account a pool is pinned to (the first loaded batch pins it). */
export interface PoolAccount {
  /** `accountKeyId()` of the descriptor: chain code + public key, hex. */
  readonly keyId: string;
  /** The descriptor as written in the first batch (multipath form, with checksum). */
  readonly descriptor: string;
  readonly network: NetworkName;
}

/** One verified batch, ready to insert: addresses[k] is index first + k. */
export interface VerifiedBatch {
  readonly keyId: string;
  readonly descriptor: string;
  readonly network: NetworkName;
  readonly chain: 0 | 1;
  readonly first: number;
  readonly count: number;
  /** Hex sha256 of the batch file (its last line). */
  readonly digest: string;
  /** The creation time written in the file (ISO-8601), the account's birthday for chain scans. */
  readonly created: string;
  readonly addresses: readonly string[];
}

export type LoadOutcome =
  | { readonly kind: 'loaded'; readonly batchId: bigint; readonly inserted: number }
  | { readonly kind: 'already-loaded'; readonly batchId: bigint };

export interface ClaimedAddress {
  readonly address: string;
  readonly index: number;
  readonly user: string;
  readonly ref: string | undefined;
  readonly assignedAt: Date;
  /** True when `ref` had already been claimed and the same address came back. */
  readonly reused: boolean;
  /**
   * Where it came from: `set`, the next of the user's own addresses
   * (`PoolStore.assign`); `pool`, the pool (a user without a set, or one
   * whose set could not be refilled). Undefined on a `reused` claim.
   */
  readonly source?: 'set' | 'pool';
  /** For a user with a set: what the set holds after this claim. Undefined for a user without one, and on a `reused` claim. */
  readonly set?: SetAfterClaim;
}

/** A user's set after a claim handed out one of its addresses. */
export interface SetAfterClaim {
  /** Addresses of the set not handed out yet, after the claim and its top-up. */
  readonly remaining: number;
  /** Addresses this claim added to the set from the pool (0: no top-up needed or possible). */
  readonly toppedUp: number;
  /**
   * Set when the set ran low but the pool could not refill it whole (POOL_EMPTY):
   * the claim still succeeded; the next claim tries again.
   */
  readonly topUpRefused?: string;
}

/** One address of a user's set. */
export interface SetAddress {
  readonly address: string;
  readonly index: number;
}

/** A user's own set of deposit addresses (`PoolStore.assign`, `PoolStore.addressSet`). */
export interface AddressSet {
  readonly user: string;
  /** How many unhanded addresses the set is topped up to when it runs low. */
  readonly size: number;
  readonly createdAt: Date;
  /** The addresses not handed out yet, lowest index first: the order claims hand them out in. */
  readonly unhanded: readonly SetAddress[];
  /** Addresses of the user already handed out (by claims, from the set or the pool). */
  readonly handedOut: number;
}

/** What `PoolStore.assign` did. */
export interface AssignOutcome {
  /**
   * `assigned`: a new set of `count` addresses; `added`: `count` more on an
   * existing set (`add: true`), whose size grew by `count`; `existing`: the
   * user already had a set and nothing changed.
   */
  readonly kind: 'assigned' | 'added' | 'existing';
  /** The addresses this call assigned, lowest index first (empty for `existing`). */
  readonly added: readonly SetAddress[];
  /** The user's set after the call. */
  readonly set: AddressSet;
}

/** Options of `PoolStore.assign`. */
export interface AssignOptions {
  /** A user who already has a set gets `count` more addresses (otherwise the call reports the existing set). */
  readonly add?: boolean;
}

export interface BatchStatus {
  readonly id: bigint;
  readonly chain: 0 | 1;
  readonly first: number;
  readonly count: number;
  readonly digest: string;
  readonly loadedAt: Date;
  readonly available: number;
  readonly assigned: number;
  readonly used: number;
}

export interface PoolStatus {
  readonly account: PoolAccount | undefined;
  readonly available: number;
  readonly assigned: number;
  readonly used: number;
  readonly batches: readonly BatchStatus[];
  /** First index not yet loaded on the receive chain: the `--from` of the next derive. */
  readonly nextIndex: number;
  /** Highest receive index ever handed out, or undefined. */
  readonly highestAssignedIndex: number | undefined;
  /** Highest receive index that ever received funds, or undefined. */
  readonly highestUsedIndex: number | undefined;
  /** Size of the largest user's set (schema 009), 0 without sets: it widens the recovery gap. */
  readonly largestSet: number;
}

/** Options of `PoolStore.insertBatch`. */
export interface InsertBatchOptions {
  /**
   * Accept a batch of an account other than the one the pool is pinned to,
   * adding that account (`pool load --add-account`). Without it such a batch
   * is refused with REFUSED. The network must match in any case.
   */
  readonly addAccount?: boolean;
  /** Called after each inserted slice with the number of rows inserted so far (progress bars). */
  readonly onProgress?: (inserted: number, total: number) => void;
}

/** What `PoolStore.pinAccount` did. */
export type PinOutcome = 'pinned' | 'already-pinned' | 'added';

/** What `PoolStore.migrate` did. */
export interface MigrateOutcome {
  /** Versions applied by this call, in order (empty when the schema was current). */
  readonly applied: readonly number[];
  /** The schema version now recorded in the database. */
  readonly version: number;
}

/**
 * The address pool's storage, implemented by src/store/sqlite-store.ts and
 * src/store/mysql-store.ts (one contract suite runs against both). Every
 * method is one transaction (or one autocommit statement) on its own.
 *
 * Errors: UNAVAILABLE when the database cannot be reached; REFUSED for a batch
 * that conflicts with the pool or another account; NETWORK_MISMATCH for a
 * batch of another network; POOL_EMPTY when nothing can be claimed;
 * STATE_CONFLICT for a schema newer than this program or a `ref` already
 * claimed for another user.
 */
export interface PoolStore {
  readonly dialect: 'sqlite' | 'mysql';
  /** Where the store points, without any password (for messages). */
  readonly label: string;
  /** The account the pool is pinned to (the first one pinned), or undefined for a fresh pool. */
  account(): Promise<PoolAccount | undefined>;
  /** Every account of the pool, the pinned one first. */
  accounts(): Promise<PoolAccount[]>;
  /**
   * Pin a fresh pool to `account`; an already pinned pool accepts the same
   * account (`already-pinned`), refuses another one with REFUSED unless
   * `add` is true (`added`), and refuses another network with NETWORK_MISMATCH.
   * `insertBatch` applies the same rule itself, in its own transaction.
   */
  pinAccount(account: PoolAccount, opts?: { readonly add?: boolean }): Promise<PinOutcome>;
  /**
   * Insert a verified batch in ONE transaction: the same digest again is an
   * `already-loaded` no-op; indexes overlapping a loaded batch of the same
   * account and chain, or an address already present at another index, are
   * refused with REFUSED naming the first conflicting index, and nothing is
   * written. Pins the account if the pool is fresh.
   */
  insertBatch(batch: VerifiedBatch, opts?: InsertBatchOptions): Promise<LoadOutcome>;
  /**
   * Atomically move one available receive address (chain 0) to `assigned`
   * for `user`. With `ref` (the app's own deposit-request id), a retry returns
   * the address already claimed for that ref with `reused: true`.
   */
  claim(user: string, ref?: string): Promise<ClaimedAddress>;
  /**
   * Give `user` their own set of `count` receive addresses, in ONE
   * transaction: all `count` or none (POOL_EMPTY naming how many are
   * available, nothing written), never an address of another user's set or
   * claim, however many signups run at once. A user who already has a set
   * keeps it (`existing`) unless `add` is true. INVALID_INPUT for a bad user
   * or a count outside 1..MAX_SET_SIZE.
   *
   * With a set, `claim(user)` hands out the set's next address (lowest index
   * first) instead of one from the pool, and tops the set up (again all or
   * nothing) when fewer than a tenth of its size remain.
   */
  assign(user: string, count: number, opts?: AssignOptions): Promise<AssignOutcome>;
  /** The user's set, or undefined for a user without one. */
  addressSet(user: string): Promise<AddressSet | undefined>;
  status(): Promise<PoolStatus>;
  /** Available receive addresses (what the low-water watcher compares). */
  countAvailable(): Promise<number>;
  /**
   * sha256 over every batch and address row in a fixed order: equal before
   * and after a refused load means the pool is unchanged (tests, `--dry-run`).
   */
  dumpDigest(): Promise<string>;
}

// ---- withdrawals and the audit log ----------------------------------------

/**
 * The withdrawal side of the store: requests (web host), review decisions and
 * the audit chain (operator box). Implemented once over SQL in
 * src/store/withdrawal-store.ts, with a SQLite and a MySQL connection
 * (withdrawal-store-sqlite.ts, withdrawal-store-mysql.ts).
 */

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
  /** The fingerprint of the operator tool's first sight, undefined before it. */
  readonly seenFingerprint: string | undefined;
  /** The verifier's rows (schema 008), unchecked: core/attestation-view.ts weighs them under a trust file. */
  readonly attestations: readonly StoredAttestation[];
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

/**
 * Who approves: an operator of the operator box's trust file, holding the
 * unlocked key (the CLI checked it is that operator's). The store asks it to
 * sign the content it read inside the approval's transaction, so what is
 * signed is what was locked and checked.
 */
export interface Approver {
  /** From the trust file: its name is the approval's, whatever --operator says. */
  readonly operator: TrustedOperator;
  readonly trust: Trust;
  sign(content: ApprovalContent): string;
}

export interface ApproveOptions {
  /** Approve although the request changed since first seen (audited). */
  readonly overrideChanged?: boolean;
  /** Refuse (REFUSED) if the request has any flag when decided ("approve all unflagged"). */
  readonly onlyIfUnflagged?: boolean;
}

/** The audit log: every decision, hash-chained (src/core/audit-chain.ts). */
/**
 * Signs the audit entries a handle writes: `sign(hash)` is the Ed25519
 * signature (128 hex) of audit-signature.ts's message over the entry's hash.
 * The CLI makes one from the operator's key (or the operator box's).
 */
export interface AuditSigner {
  readonly keyId: string;
  sign(hash: string): string;
}

export interface AuditLog {
  /** Append one audit entry in its own transaction (for actions without a state change). */
  audit(actor: string, action: string, subject: string, data: Record<string, unknown>): Promise<AuditEntry>;
  auditEntries(): AsyncIterable<AuditEntry>;
  verifyAudit(): Promise<ChainVerdict>;
}

/**
 * Errors: INVALID_INPUT / NETWORK_MISMATCH for a refused request (with
 * `context.reason`), STATE_CONFLICT for a move the current state does not
 * allow or that lost a race (the message names the current state), REFUSED
 * for an approval the policy forbids, NOT_FOUND for an unknown id,
 * UNAVAILABLE when the database cannot be reached.
 */
export interface WithdrawalStore extends AuditLog {
  readonly dialect: 'sqlite' | 'mysql';
  readonly label: string;
  /** The pool's network (the pinned account's), or the one configured. */
  network(): Promise<Network>;
  /** The verifier's latest note (why a request is held) of each of these withdrawals (schema 010). */
  verifierNotes(ids: readonly bigint[]): Promise<Map<bigint, { note: string; notedAt: string }>>;
  /** Web door: insert a validated request; the same app id with the same content returns the existing one. */
  request(valid: ValidRequest): Promise<RequestOutcome>;
  /** Operator's first read: fingerprint new requests, mark the ones breaking a rule invalid (audited). */
  observe(actor: string): Promise<ObserveOutcome>;
  list(query: ListQuery, policy: WithdrawalPolicy): Promise<ReviewedWithdrawal[]>;
  get(id: bigint, policy: WithdrawalPolicy): Promise<ReviewedWithdrawal | undefined>;
  totals(status: WithdrawalStatus): Promise<Totals>;
  /** Sign and store one approval; `approved` once the valid signatures over the current content cover the trust file's (and policy's) requirement. */
  approve(id: bigint, approver: Approver, policy: WithdrawalPolicy, opts?: ApproveOptions): Promise<DecisionOutcome>;
  reject(id: bigint, actor: string, reason: string): Promise<DecisionOutcome>;
  /** Any other arrow of the state table (cancel, payout moves), guarded and audited. */
  move(id: bigint, to: WithdrawalStatus, actor: string, data?: Record<string, unknown>): Promise<DecisionOutcome>;
}

// ---- the chain follower ---------------------------------------------------

/**
 * The ports of chain following: where blocks come from (`ChainSource`: a
 * Bitcoin Core node over JSON-RPC or an Esplora REST server, src/chain/*) and
 * where what was found in them is kept (`ChainStore`: src/store/chain-store-*).
 * core and flows import only these types, never an adapter.
 */

/** A block as the follower keeps it: enough to notice that the node's chain moved. */
export interface BlockRef {
  readonly height: number;
  /** Display order (what `getblockhash` prints). */
  readonly hash: string;
}

export interface StoredBlock extends BlockRef {
  readonly prevHash: string;
  /** Header time, UNIX seconds. */
  readonly time: number;
}

/**
 * A Bitcoin node or indexer the follower reads. Every method retries network
 * errors, timeouts, HTTP 5xx and Core's "-28 warming up" with backoff, then
 * throws UNAVAILABLE naming the node (`label`, no password) and the call.
 * Answers that are not what the protocol documents throw INVALID_INPUT.
 */
export interface ChainSource {
  /** `bitcoind http://user@host:port` or `esplora https://host/api`: never a password. */
  readonly label: string;
  /** `main`, `test`, `testnet4`, `signet`, `regtest`, or undefined when the protocol cannot tell (Esplora). */
  chainName(): Promise<string | undefined>;
  tipHeight(): Promise<number>;
  /** The hash of the active chain's block at `height`, or undefined above the tip. */
  blockHash(height: number): Promise<string | undefined>;
  /** The serialized block (with witnesses), or undefined when the node does not have it. */
  rawBlock(hash: string): Promise<Uint8Array | undefined>;
  /** The 80-byte block header. */
  rawHeader(hash: string): Promise<Uint8Array | undefined>;
  mempoolTxids(): Promise<string[]>;
  /** A raw transaction, or undefined when the node no longer knows it (left the mempool). */
  rawTransaction(txid: string): Promise<Uint8Array | undefined>;
  /** Fee rate for confirmation within `targetBlocks`, sat/kvB, or undefined when the node has no estimate. */
  estimateFeeRateSatKvb(targetBlocks: number): Promise<bigint | undefined>;
  /**
   * Would the node accept this transaction? (Core: testmempoolaccept.) Esplora
   * has no such call: undefined. A Core-compatible node without the method
   * (older Core, other implementations): `{ untested }`, saying so.
   */
  testAccept(txHex: string): Promise<TestAccept | undefined>;
  /** Broadcast; returns the txid. */
  broadcast(txHex: string): Promise<string>;
  close(): Promise<void>;
}

/** A node's verdict on a transaction before it is sent, or why it gave none. */
export type TestAccept =
  | { readonly allowed: boolean; readonly reason: string | undefined }
  | { readonly untested: string };

/** Where an output script of the account sits. */
export interface ScriptOwner {
  readonly accountId: bigint;
  readonly chain: 0 | 1;
  readonly index: number;
  readonly address: string;
}

/** An output paying the account, as found in a block or the mempool. */
export interface FoundOutput {
  readonly txid: string;
  readonly vout: number;
  readonly valueSat: bigint;
  /** Output script, hex. */
  readonly script: string;
  readonly owner: ScriptOwner;
}

/** A transaction input spending one of the account's outputs. */
export interface FoundSpend {
  readonly txid: string;
  readonly vout: number;
  readonly spendingTxid: string;
}

/** A deposit: an output paying a receive address (chain 0) of the pool. */
export interface Deposit {
  readonly address: string;
  readonly user: string | undefined;
  readonly txid: string;
  readonly vout: number;
  readonly amountSat: bigint;
  /** undefined while unconfirmed (mempool). */
  readonly height: number | undefined;
  readonly blockHash: string | undefined;
  /** 0 while unconfirmed; tip - height + 1 otherwise (tip = the synced height). */
  readonly confirmations: number;
  readonly spentBy: string | undefined;
}

/** An output of the account (receive or change) not spent by a confirmed or mempool transaction. */
export interface Coin {
  readonly txid: string;
  readonly vout: number;
  readonly valueSat: bigint;
  readonly script: string;
  readonly address: string;
  readonly chain: 0 | 1;
  readonly index: number;
  readonly height: number | undefined;
  readonly confirmations: number;
  /** Confirmed with at least the requested confirmations and not being spent: a payout may use it. */
  readonly spendable: boolean;
}

/** A deposit recorded in a block that the node's chain no longer contains. */
export interface DroppedDeposit {
  readonly address: string;
  readonly user: string | undefined;
  readonly txid: string;
  readonly vout: number;
  readonly amountSat: bigint;
  readonly height: number;
  readonly blockHash: string;
}

export interface ChainSummary {
  readonly synced: StoredBlock | undefined;
  readonly firstHeight: number | undefined;
  readonly confirmedSat: bigint;
  readonly spendableSat: bigint;
  readonly unconfirmedSat: bigint;
  readonly coins: number;
  readonly deposits: number;
}

/** The account data the follower matches against. */
export interface WatchAccount {
  readonly id: bigint;
  readonly descriptor: string;
  readonly network: string;
}

/**
 * What the follower records, in the pool's database (schema 004). Each
 * method is one transaction.
 */
export interface ChainStore {
  readonly dialect: 'sqlite' | 'mysql';
  readonly label: string;
  /** The last committed block, or undefined before the first sync. */
  tip(): Promise<StoredBlock | undefined>;
  hashAt(height: number): Promise<string | undefined>;
  firstHeight(): Promise<number | undefined>;
  /** The `created` time of the earliest loaded batch (ISO-8601), the account's birthday. */
  birthday(): Promise<string | undefined>;
  accounts(): Promise<WatchAccount[]>;
  /** Every loaded address, streamed in slices (a pool may hold millions). */
  loadedAddresses(onSlice: (rows: ScriptOwner[]) => void): Promise<void>;
  /** Highest change index (chain 1) that received funds, per account id. */
  highestChangeIndex(): Promise<Map<bigint, number>>;
  /** Outputs not spent in a block (unspent, or spent only in the mempool): "txid:vout" keys. */
  openOutpoints(): Promise<string[]>;
  /**
   * Record a block and what it holds in ONE transaction: the block row, the
   * outputs (a mempool row of the same outpoint becomes confirmed), the spends,
   * and `used` on receive addresses that were paid (available|assigned → used).
   * A block already recorded at that height is refused with STATE_CONFLICT.
   */
  commitBlock(block: StoredBlock, outputs: readonly FoundOutput[], spends: readonly FoundSpend[]): Promise<void>;
  /**
   * Undo everything recorded from `height` on (blocks, outputs, spends) in ONE
   * transaction; returns the deposits that were in those blocks.
   */
  rollbackFrom(height: number): Promise<DroppedDeposit[]>;
  /** Replace what is recorded as unconfirmed (mempool outputs and spends) in one transaction. */
  replaceMempool(outputs: readonly FoundOutput[], spends: readonly FoundSpend[]): Promise<void>;
  /** True when the outpoint is recorded (confirmed or not). */
  hasOutput(txid: string, vout: number): Promise<boolean>;
  deposits(query?: { readonly user?: string }): Promise<Deposit[]>;
  coins(minConf: number): Promise<Coin[]>;
  summary(minConf: number): Promise<ChainSummary>;
  /**
   * Every recorded block, output and spend in a fixed order, as text (tests
   * compare two syncs). Address statuses are not part of it: `used` never
   * moves back, even when the deposit that set it is rolled back.
   */
  dump(): Promise<string>;
}

// ---- the low-water watcher ------------------------------------------------

/**
 * Ports of the low-water watcher (flow 5): where its memory lives, how it
 * reads the pool's gauge, and how it tells the operator. Adapters:
 * src/store/watcher-state-{sqlite,mysql}.ts, src/notify/{email,webhook,log}.ts.
 */

/** How low the pool is: `ok` at or above every threshold, `warning` below the earlier one, `critical` below the threshold. */
export type AlertLevel = 'ok' | 'warning' | 'critical';

/**
 * What the watcher remembers between checks (and restarts). One row per
 * watched subject (`pool` for the receive pool).
 */
export interface WatcherState {
  readonly level: AlertLevel;
  /** When the last low alert (or its repeat) went out; undefined while ok. */
  readonly lastAlertAt: Date | undefined;
  /** The count at the last check. */
  readonly lastCount: number;
  readonly checkedAt: Date;
  /** Bumped by every save: a watcher that lost a race to another one does not send. */
  readonly revision: number;
}

/** What the pool looks like for a forecast, beside the available count. */
export interface PoolGauge {
  /** Receive addresses handed out since `since` (from `assigned_at`). */
  readonly claimedSince: number;
  /** When the first batch was loaded (the rate window never starts before it), or undefined for an empty pool. */
  readonly firstLoadedAt: Date | undefined;
  /** First receive index not loaded yet: the `--from` of the next derive. */
  readonly nextIndex: number;
}

/**
 * The watcher's own table (sql/<dialect>/002_watcher.sql). The schema is
 * applied by `coldpool db migrate` like every other file.
 */
export interface WatcherStateStore {
  readonly label: string;
  load(subject: string): Promise<WatcherState | undefined>;
  /**
   * Save `next` if the stored revision is still `expectedRevision` (0 when
   * nothing was stored): true when saved, false when another watcher saved
   * first (then this one must not send).
   */
  save(subject: string, next: Omit<WatcherState, 'revision'>, expectedRevision: number): Promise<boolean>;
  gauge(since: Date): Promise<PoolGauge>;
}

export type AlertKind = 'low' | 'repeat' | 'recovered' | 'watcher-unavailable' | 'watcher-recovered'
  // the verifier's (src/verifier/alerts.ts)
  | 'request-changed' | 'email-changed' | 'user-missing' | 'token-locked' | 'web-unavailable' | 'web-recovered'
  // the verifier's assignment record and ledger (src/verifier/assignments.ts, balances.ts)
  | 'address-not-derived' | 'address-reassigned' | 'address-text-changed' | 'address-status-back' | 'address-deleted'
  | 'descriptor-changed' | 'balance-hold' | 'balance-negative' | 'deposit-reorged' | 'node-unavailable' | 'node-recovered'
  // the verifier's reconciliation of the web app's ledger (src/verifier/ledger.ts)
  | LedgerAlertKind
  // the payout follower (flows/payout.ts followPayouts): a given-up payout confirmed anyway; a withdrawal paid by a second payout
  | 'payout-given-up-confirmed' | 'payout-paid-again';

/** One message to the operator: the same facts on every channel. */
export interface Alert {
  readonly kind: AlertKind;
  readonly level: AlertLevel;
  /** One line, for a mail subject or a chat preview. */
  readonly title: string;
  /** The whole message, plain text, the derive command on its own line. */
  readonly text: string;
  readonly at: Date;
  /** The facts, for JSON consumers (webhook body, log line). */
  readonly facts: Readonly<Record<string, unknown>>;
}

/** An alert channel. `send` throws (UNAVAILABLE) when the alert did not get through. */
export interface Notifier {
  /** `email`, `webhook`, `log`. */
  readonly channel: string;
  /** Check at startup that the channel can work (e.g. SMTP handshake); throws a CodedError when not. */
  verify(): Promise<void>;
  send(alert: Alert): Promise<void>;
  close(): Promise<void>;
}

/** The time, injectable so tests can move it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

// ---- payouts --------------------------------------------------------------

export interface PayoutRow {
  readonly id: bigint;
  readonly status: PayoutStatus;
  readonly psbt: string;
  readonly signedPsbt: string | undefined;
  readonly unsignedTxid: string;
  readonly txid: string | undefined;
  readonly feeSat: bigint;
  readonly feeRateSatKvb: bigint;
  readonly replacesPayoutId: bigint | undefined;
  readonly createdAt: string;
  readonly confirmations: number;
  /** Why it is abandoned (schema 012; undefined while not abandoned, and on older rows: replaced). */
  readonly abandonKind: AbandonKind | undefined;
  /** The operator's reason of `payout abandon`. */
  readonly abandonReason: string | undefined;
  /** When the operator box first saw its signed PSBT. */
  readonly signedAt: string | undefined;
  /** For a cancel (`payout cancel`): the given-up payout one of whose inputs it sends back to our change. */
  readonly cancelsPayoutId: bigint | undefined;
}

/**
 * An abandoned payout that paid a withdrawal about to be paid again
 * (`PayoutStore.abandonedClaims`): while it is not dead (no input spent in a
 * block by another transaction) the new payout must spend one of its inputs.
 */
export interface AbandonedClaim {
  readonly payoutId: bigint;
  readonly unsignedTxid: string;
  readonly withdrawalIds: readonly bigint[];
  /** Its inputs, "txid:vout". */
  readonly inputs: readonly string[];
  /** Those of its inputs a live payout spends already (a cancel, or another rebuild). */
  readonly takenByLive: readonly string[];
  /** Transactions that spent one of its inputs in a block: it can never confirm. Empty: it may still confirm. */
  readonly killedBy: readonly string[];
  /** Every input spent in a block by its own txid: it confirmed (`payout status` records it). */
  readonly confirmedItself: boolean;
}

/** What `PayoutStore.markConfirmed` did. */
export interface ConfirmOutcome {
  /** Other versions (bumps) of it, now abandoned (replaced). */
  readonly abandoned: bigint[];
  /** Live payouts conflicting with it that are not versions of it (a rebuild, a cancel), now abandoned (failed). */
  readonly failed: bigint[];
  /** The withdrawals it pays. */
  readonly withdrawals: bigint[];
  /** It was abandoned (given up) and confirmed anyway. */
  readonly wasAbandoned: boolean;
  /** Withdrawals it paid that were already confirmed by another payout, or closed (cancelled…): never changed, always alerted. */
  readonly anomalies: readonly { readonly withdrawalId: bigint; readonly status: string; readonly payoutId: bigint | undefined }[];
}

export interface PayoutOutputRow {
  readonly n: number;
  readonly withdrawalId: bigint | undefined;
  readonly address: string;
  readonly amountSat: bigint;
  readonly changeIndex: number | undefined;
}

export interface PayoutInputRow {
  readonly n: number;
  readonly txid: string;
  readonly vout: number;
  readonly valueSat: bigint;
  readonly chain: 0 | 1;
  readonly index: number;
}

export interface ApprovedWithdrawal {
  readonly id: bigint;
  readonly destination: string;
  readonly amountSat: bigint;
  /** The row, its first sight and its stored approvals: what decides whether it may be paid. */
  readonly evidence: ApprovalEvidence;
}

/** An approved withdrawal a build did not pay, and why. */
export interface LeftOut {
  readonly id: bigint;
  readonly reason: LeftOutReason;
  readonly detail: string;
}

/** What the chain record says about the coins a payout spends. */
export interface SpendState {
  readonly txid: string;
  readonly vout: number;
  readonly spentTxid: string | undefined;
  readonly spentHeight: number | undefined;
}

/**
 * Payouts (schema 001 `payouts`, 005 `payout_inputs`/`payout_outputs`). Every
 * change of state is one transaction with its audit entries; a withdrawal
 * gets into a payout only through a guarded move from `approved`, so two
 * builds racing each other cannot both lock it.
 */
export interface PayoutStore {
  /** The pool's pinned account (the payout's inputs and change belong to it). */
  account(): Promise<{ descriptor: string; network: string }>;
  /** Approved withdrawals not yet in a payout (all, or those of `ids`), oldest first. */
  approved(ids?: readonly bigint[]): Promise<ApprovedWithdrawal[]>;
  /** The approval evidence of these withdrawals, whatever their status (a bump re-attaches the approvals). */
  evidence(ids: readonly bigint[]): Promise<Map<bigint, ApprovalEvidence>>;
  /** Record (schema 006 payout_exclusions) and audit the approved withdrawals a build left out; one transaction. */
  leaveOut(items: readonly LeftOut[], actor: string): Promise<void>;
  /** Outpoints spent by a live payout (built, signed, broadcast) or reserved by an abandoned one that may still confirm. */
  lockedOutpoints(): Promise<Set<string>>;
  /** The abandoned payouts that paid any of these withdrawals, and how the chain record sees their inputs. */
  abandonedClaims(withdrawalIds: readonly bigint[]): Promise<AbandonedClaim[]>;
  nextChangeIndex(): Promise<number>;
  get(id: bigint): Promise<PayoutRow | undefined>;
  byUnsignedTxid(txid: string): Promise<PayoutRow | undefined>;
  list(statuses?: readonly string[]): Promise<PayoutRow[]>;
  outputs(id: bigint): Promise<PayoutOutputRow[]>;
  inputs(id: bigint): Promise<PayoutInputRow[]>;
  withdrawalStatus(ids: readonly bigint[]): Promise<Map<bigint, { status: string; payoutId: bigint | undefined }>>;
  spends(id: bigint): Promise<{ tip: number | undefined; coins: SpendState[] }>;
  /**
   * Record a payout; with `replaces` a bump of it; with `cancels` a payout of
   * no withdrawal spending an input of that given-up payout. STATE_CONFLICT
   * when a payout of a withdrawal spends no input of an abandoned payout of it
   * that may still confirm, or spends a coin reserved by one it has no claim to.
   */
  insert(built: BuiltPayout, actor: string, replaces?: PayoutRow, opts?: { readonly cancels?: bigint }): Promise<bigint>;
  /** built → signed, keeping the signed PSBT (first sight of it); false when it was already signed or further. */
  markSigned(id: bigint, signedPsbt: string, actor: string): Promise<boolean>;
  /**
   * Give up these live payouts (one payout and its versions): → abandoned
   * (given_up, reason), their withdrawals in_payout|broadcast → approved. One
   * transaction, guarded; STATE_CONFLICT if one is no longer live.
   */
  abandon(ids: readonly bigint[], reason: string, actor: string, evidence: Record<string, unknown>): Promise<bigint[]>;
  markBroadcast(id: bigint, txid: string, signedPsbt: string, actor: string): Promise<boolean>;
  setConfirmations(id: bigint, confirmations: number): Promise<void>;
  markConfirmed(id: bigint, txid: string, confirmations: number, actor: string): Promise<ConfirmOutcome>;
}

// ---- the database handle --------------------------------------------------

/**
 * One database, opened once (`openDatabase(url)` in src/store/db.ts): one
 * connection (SQLite) or one connection pool (MySQL/MariaDB) that carries
 * every repository. Two handles can be open side by side (the verifier keeps
 * a database of its own).
 */
export interface Database {
  readonly dialect: 'sqlite' | 'mysql';
  /** Where it points, without any password (for messages). */
  readonly label: string;
  readonly pool: PoolStore;
  readonly withdrawals: WithdrawalStore;
  readonly payouts: PayoutStore;
  readonly chain: ChainStore;
  readonly watcher: WatcherStateStore;
  /** What the web database shares with the verifier: the emails view, relayed tokens, attestations (schema 008). */
  readonly verification: VerificationFeed;
  /** The web app's published ledger, as the verifier reads it (schema 011). */
  readonly ledger: LedgerFeed;
  /** The signed, append-only audit log (state changes append to it in their own transactions). */
  readonly audit: AuditLog;
  /** Apply the pending `sql/<dialect>/NNN_*.sql` files; idempotent. */
  migrate(): Promise<MigrateOutcome>;
  close(): Promise<void>;
}

// ---- the verifier ---------------------------------------------------------

/** A user's email as the web app's `coldpool_user_emails` view shows it. */
export interface UserEmail {
  readonly user: string;
  readonly email: string;
}

/** A token the web app relayed (`withdrawal_confirmations`), as typed by whoever clicked. */
export interface RelayedToken {
  readonly id: bigint;
  readonly withdrawalId: bigint;
  readonly token: string;
}

/** A signed attestation to publish in the web database. */
export interface PublishedAttestation {
  readonly withdrawalId: bigint;
  readonly keyId: string;
  /** JSON text of the attested approval content. */
  readonly content: string;
  readonly signature: string;
  readonly attestedAt: Date;
}

/**
 * What the web database shares with the verifier (schema 008), and the web
 * app's one write there (`relay`). The verifier reads through an account that
 * may SELECT these and INSERT attestations only (sql/mysql/grants.sql).
 */
export interface VerificationFeed {
  readonly label: string;
  /** Every row of the emails view, in slices (100,000 users are one read). */
  emails(onSlice: (rows: UserEmail[]) => void): Promise<void>;
  /** Requests with an id above `afterId`, ascending, at most `limit`. */
  requestsAfter(afterId: bigint, limit: number): Promise<WithdrawalRecord[]>;
  /** These requests as they stand now (absent: deleted). */
  requests(ids: readonly bigint[]): Promise<Map<bigint, WithdrawalRecord>>;
  /** Relayed tokens with an id above `afterId`, ascending, at most `limit`. */
  relayedAfter(afterId: bigint, limit: number): Promise<RelayedToken[]>;
  /** Insert attestations (idempotent: the same signature twice is one row). */
  publish(rows: readonly PublishedAttestation[]): Promise<void>;
  /** The attestation rows of these withdrawals, whoever wrote them. */
  attestations(ids: readonly bigint[]): Promise<Map<bigint, { keyId: string; content: string; signature: string }[]>>;
  /** Web side: store the token a user's click carried, for the verifier to read. */
  relay(withdrawalId: bigint, token: string): Promise<void>;
  /** The pinned pool accounts (their descriptors: public keys only). */
  poolAccounts(): Promise<WebPoolAccount[]>;
  /** Every loaded batch (a few rows per account). */
  batches(): Promise<WebBatch[]>;
  /** Address rows with an id above `afterId`, ascending, at most `limit`. */
  addressesAfter(afterId: bigint, limit: number): Promise<WebAddress[]>;
  /** Address rows with an assigned_at after (`at`, `afterId`) in (assigned_at, id) order, at most `limit`: new assignments between full checks. */
  assignedAfter(at: Date, afterId: bigint, limit: number): Promise<WebAddress[]>;
  /** Insert the verifier's hold notes (INSERT only; the same (withdrawal, time) twice is one row). */
  publishNotes(rows: readonly { readonly withdrawalId: bigint; readonly note: string; readonly notedAt: Date }[]): Promise<void>;
  /** The latest verifier note of each of these withdrawals (review). */
  latestNotes(ids: readonly bigint[]): Promise<Map<bigint, { note: string; notedAt: string }>>;
}

/** A pool account as the web database shows it. */
export interface WebPoolAccount {
  readonly id: bigint;
  readonly keyId: string;
  readonly descriptor: string;
  readonly network: string;
  readonly isPrimary: boolean;
}

export interface WebBatch {
  readonly id: bigint;
  readonly accountId: bigint;
  readonly chain: 0 | 1;
  readonly firstIndex: number;
  readonly count: number;
  readonly created: string;
}

/** An address row as the web database shows it now (text, owner and status are the web host's to write). */
export interface WebAddress {
  readonly id: bigint;
  readonly address: string;
  readonly accountId: bigint;
  readonly chain: 0 | 1;
  readonly index: number;
  readonly status: string;
  readonly user: string | undefined;
  readonly assignedAt: string | undefined;
}

/** The verifier's pin of a pool account, taken at first sight. */
export interface PinnedAccount {
  readonly id: bigint;
  readonly keyId: string;
  readonly descriptor: string;
  readonly network: string;
  readonly isPrimary: boolean;
  readonly pinnedAt: string;
  /** The web's descriptor text as last read (differs from `descriptor` after a change was alerted). */
  readonly webDescriptor: string;
}

/** The verifier's record of an address that re-derived at its (chain, index). */
export interface RecordedAddress {
  readonly id: bigint;
  /** The derived text (what the chain view watches), whatever the web row says now. */
  readonly address: string;
  readonly accountId: bigint;
  readonly chain: 0 | 1;
  readonly index: number;
  /** The owner at first sight of the assignment: deposits are credited to this user only. */
  readonly user: string | undefined;
  readonly firstSeenAt: string;
  readonly ownerSeenAt: string | undefined;
  /** What the web row said when last read: a change is alerted once. */
  readonly webAddress: string;
  readonly webUser: string | undefined;
  readonly webStatus: string;
}

/** A deposit the verifier credits: a confirmed output of its chain view to a first-sight owner's address. */
export interface LedgerDeposit {
  readonly user: string;
  readonly address: string;
  readonly txid: string;
  readonly vout: number;
  readonly amountSat: bigint;
  readonly height: number;
}

/** A withdrawal the verifier attested: debited at once, `paid` once its payout confirmed on the verifier's chain view. */
export interface LedgerDebit {
  readonly user: string;
  readonly withdrawalId: bigint;
  readonly amountSat: bigint;
  readonly attestedAt: string;
  readonly paid: { readonly txid: string; readonly vout: number; readonly height: number } | undefined;
}

/** Where a request stands at the verifier (its own database). */
export type VerifierState =
  /** First seen; its user's email is not mirrored yet (waits for the next sync). */
  | 'waiting'
  /** First seen, a token to send. */
  | 'new'
  /** A token's hash is stored and its mail may be out: after a crash here a NEW token replaces it (the old one never works). */
  | 'sending'
  /** The token mail went out; waiting for the user's click. */
  | 'sent'
  /** The user relayed the right token in time. */
  | 'confirmed'
  /** Signed and (once published_at is set) in the web database. */
  | 'attested'
  /** The request changed after first sight (or vanished): never attested. */
  | 'changed'
  /** Too many wrong tokens: never attested. */
  | 'locked'
  /** The token expired before a valid click (`coldpool verifier resend ID` issues a new one). */
  | 'expired'
  /** Rejected, cancelled or invalid on the web side: nothing to attest. */
  | 'closed'
  /** The destination does not parse for the pool's network: nothing to attest. */
  | 'unpayable';

export interface VerifierRequest {
  readonly withdrawalId: bigint;
  readonly user: string;
  readonly fingerprint: string;
  /** JSON text of the approval content to attest, or undefined when the destination did not parse. */
  readonly content: string | undefined;
  readonly firstSeenAt: string;
  readonly state: VerifierState;
  readonly tokenHash: string | undefined;
  /** Hashes of this request's earlier tokens, replaced after a mail was cut off (space-separated, the last few): relaying one is refused but is no strike. */
  readonly supersededHashes: string | undefined;
  readonly tokenExpiresAt: string | undefined;
  readonly tokenSentAt: string | undefined;
  readonly tokensIssued: number;
  readonly wrongTokens: number;
  readonly confirmedAt: string | undefined;
  readonly attestedAt: string | undefined;
  readonly signature: string | undefined;
  readonly publishedAt: string | undefined;
  readonly note: string | undefined;
}

export interface MirroredUser {
  readonly user: string;
  readonly email: string;
  readonly firstSeenAt: string;
  readonly changedAt: string | undefined;
  readonly holdUntil: string | undefined;
  readonly missingSince: string | undefined;
}

/** A guarded change of one request: applied only while its state is one of `from`. */
export interface RequestUpdate {
  readonly id: bigint;
  readonly from: readonly VerifierState[];
  readonly set: Partial<Omit<VerifierRequest, 'withdrawalId' | 'user' | 'fingerprint' | 'firstSeenAt'>>;
}

export interface OutboxMail {
  readonly kind: string;
  /** A user's address, or undefined for an alert to the operators' channels. */
  readonly recipient: string | undefined;
  readonly subject: string;
  readonly body: string;
  readonly facts: Readonly<Record<string, unknown>>;
}

export interface PendingMail extends OutboxMail {
  readonly id: bigint;
  readonly createdAt: string;
  readonly attempts: number;
}

export interface VerifierEvent {
  readonly kind: string;
  readonly withdrawalId?: bigint | undefined;
  readonly user?: string | undefined;
  readonly detail: string;
}

/** One atomic step of the verifier: everything it decided, committed in ONE transaction or not at all. */
export interface VerifierCommit {
  readonly inserts?: readonly Omit<VerifierRequest, 'tokenHash' | 'supersededHashes' | 'tokenExpiresAt' | 'tokenSentAt' | 'tokensIssued' | 'wrongTokens' | 'confirmedAt' | 'attestedAt' | 'signature' | 'publishedAt'>[];
  readonly updates?: readonly RequestUpdate[];
  readonly mirrorAdd?: readonly MirroredUser[];
  readonly mirrorSet?: readonly { readonly user: string; readonly set: Partial<Omit<MirroredUser, 'user' | 'firstSeenAt'>> }[];
  readonly emailChanges?: readonly { readonly user: string; readonly oldEmail: string; readonly newEmail: string; readonly noticedAt: Date }[];
  readonly outbox?: readonly OutboxMail[];
  readonly events?: readonly VerifierEvent[];
  /** Cursors only move forward; these are set back to 0 (the web-down marker when the web database answers again). */
  readonly cursors?: Readonly<Record<string, bigint>>;
  readonly resetCursors?: readonly string[];
  /** Relayed tokens judged by this step (their web row ids and what came of them). */
  readonly relays?: readonly { readonly id: bigint; readonly withdrawalId: bigint; readonly outcome: string }[];
  /** Pool accounts pinned at first sight, and the web descriptor text last read of pinned ones. */
  readonly accountPins?: readonly PinnedAccount[];
  readonly accountWebDescriptor?: readonly { readonly id: bigint; readonly webDescriptor: string }[];
  readonly batchAdd?: readonly WebBatch[];
  /** Addresses recorded at first sight (re-derived), and changes of what the web row said (and the owner, once, at first sight of the assignment). */
  readonly addressAdd?: readonly RecordedAddress[];
  readonly addressSet?: readonly { readonly id: bigint; readonly set: Partial<Pick<RecordedAddress, 'user' | 'ownerSeenAt' | 'webAddress' | 'webUser' | 'webStatus'>> }[];
  /** Web rows that did not re-derive: never watched, never credited. */
  readonly rejectAdd?: readonly (WebAddress & { readonly reason: string })[];
  /** Hold notes to publish in the web database (noted at the commit's time), and the ones published. */
  readonly notes?: readonly { readonly withdrawalId: bigint; readonly note: string }[];
  readonly notesPublished?: readonly bigint[];
  /** Attested payouts seen confirmed, and spending transactions looked at. */
  readonly payoutAdd?: readonly { readonly withdrawalId: bigint; readonly txid: string; readonly vout: number; readonly height: number; readonly blockHash: string }[];
  readonly spendsExamined?: readonly { readonly txid: string; readonly blockHash: string }[];
  /** The ledger step's mirror inserts and finding changes (src/store/ledger-mirror.ts). */
  readonly ledger?: LedgerCommit;
}

/**
 * The verifier's own database (sql/verifier/<dialect>/): its mirror, first
 * sights, token hashes, outbox, cursors and events. No web account can reach
 * it. `commit` refuses (STATE_CONFLICT, nothing written) when a guarded
 * update finds its request in another state: two verifiers racing, or a
 * step re-run after a crash, never both act.
 */
export interface VerifierStore {
  readonly label: string;
  cursor(name: string): Promise<bigint>;
  commit(c: VerifierCommit, at: Date): Promise<void>;
  mirror(): Promise<Map<string, MirroredUser>>;
  mirrorOf(users: readonly string[]): Promise<Map<string, MirroredUser>>;
  requests(ids: readonly bigint[]): Promise<Map<bigint, VerifierRequest>>;
  /** Which of these relay row ids were judged already. */
  relaysJudged(ids: readonly bigint[]): Promise<Set<bigint>>;
  inState(states: readonly VerifierState[], limit: number): Promise<VerifierRequest[]>;
  /** Attested requests whose attestation is not in the web database yet. */
  unpublished(limit: number): Promise<VerifierRequest[]>;
  pendingMail(limit: number): Promise<PendingMail[]>;
  mailSent(id: bigint, at: Date): Promise<void>;
  mailFailed(id: bigint): Promise<void>;
  counts(): Promise<{ states: Record<string, number>; users: number; held: number; pendingMail: number }>;
  /** Entries of the verifier's signed audit chain, as events, oldest first (the latest `limit`). */
  events(query: { readonly withdrawalId?: bigint; readonly limit: number }): Promise<(VerifierEvent & { id: bigint; at: string })[]>;
  /** Check the verifier's audit chain (hashes, links, head); `onEntry` sees each entry (its signature is the caller's to check). */
  verifyAudit(onEntry?: (e: AuditEntry) => void): Promise<ChainVerdict>;
  /** The pinned pool accounts. */
  accounts(): Promise<PinnedAccount[]>;
  batchIds(): Promise<Set<bigint>>;
  /** Recorded addresses and rejected rows among these web ids. */
  addressesById(ids: readonly bigint[]): Promise<{ recorded: Map<bigint, RecordedAddress>; rejected: Set<bigint> }>;
  /** Recorded addresses with an id in (afterId, toId], ascending (the full compare walks both sides by id). */
  addressesBetween(afterId: bigint, toId: bigint): Promise<RecordedAddress[]>;
  /** Rejected row ids in (afterId, toId]. */
  rejectsBetween(afterId: bigint, toId: bigint): Promise<Set<bigint>>;
  /** The entries of the verifier's ledger: confirmed deposits to first-sight owners, every attested withdrawal (all users, or these). */
  ledger(users?: readonly string[]): Promise<{ deposits: LedgerDeposit[]; debits: LedgerDebit[] }>;
  /** Attested requests without a confirmed payout output, with their content (to match payouts on the chain). */
  attestedUnpaid(): Promise<VerifierRequest[]>;
  /** Spends of pool coins in blocks of the chain view not looked at for payouts yet. */
  unexaminedSpends(): Promise<{ txid: string; height: number; blockHash: string }[]>;
  /** Drop payout sightings (and examined spends) whose block is no longer in the chain view: a reorg. */
  forgetOrphanedPayouts(): Promise<number>;
  unpublishedNotes(limit: number): Promise<{ id: bigint; withdrawalId: bigint; note: string; notedAt: string }[]>;
  /** The operators' alerts in the outbox (newest last), with their facts. */
  alerts(): Promise<PendingMail[]>;
}

/** The verifier's database handle (`openVerifierDatabase(url)` in src/store/db.ts). */
export interface VerifierDatabase {
  readonly dialect: 'sqlite' | 'mysql';
  readonly label: string;
  readonly store: VerifierStore;
  /** The verifier's own chain view (the follower's tables in the verifier's database, its addresses being its first-sight record). */
  readonly chain: ChainStore;
  /** The mirror of the web app's ledger (written through `store.commit({ ledger })`). */
  readonly ledger: LedgerMirror;
  migrate(): Promise<MigrateOutcome>;
  close(): Promise<void>;
}

/** Mail to one user (the verifier's tokens and notices), through the SMTP relay of the configuration. */
export interface UserMailer {
  /** Throws UNAVAILABLE when the relay did not take the mail. */
  send(mail: { readonly to: string; readonly subject: string; readonly text: string; readonly kind: string }): Promise<void>;
  verify(): Promise<void>;
  close(): Promise<void>;
}

// ---- the verifier's ledger reconciliation ---------------------------------

export type LedgerAlertKind = 'ledger-edited' | 'ledger-deleted' | 'ledger-out-of-order' | 'ledger-deposit-unmatched' | 'ledger-deposit-duplicate'
  | 'ledger-balance-mismatch' | 'ledger-internal-unbalanced';

/**
 * One row of the web app's `coldpool_ledger` view (schema 011). `amountSat`
 * is signed: credits positive (deposits), debits negative (withdrawals).
 * `createdAt` is the web's time, as ISO-8601 UTC text.
 */
export interface LedgerEntry {
  readonly entryId: bigint;
  readonly user: string;
  readonly amountSat: bigint;
  readonly kind: string;
  readonly ref: string | undefined;
  readonly createdAt: string;
}

/** The ledger views of the web database, read through the verifier's account. */
export interface LedgerFeed {
  /** Entries with an id above `afterId`, ascending, at most `limit`; undefined when the web database has no coldpool_ledger view. */
  entriesAfter(afterId: bigint, limit: number): Promise<LedgerEntry[] | undefined>;
  /** Every published balance, in slices keyed by user (undefined result: no coldpool_balances view). */
  balances(onSlice: (rows: readonly { readonly user: string; readonly balanceSat: bigint }[]) => void): Promise<boolean>;
  /** The published balances of these users (absent: no row), or undefined without the view. */
  balancesOf(users: readonly string[]): Promise<Map<string, bigint> | undefined>;
}

/** An entry as the verifier mirrored it at first sight (never updated afterwards). */
export interface MirroredEntry extends LedgerEntry {
  readonly fingerprint: string;
  /** The verifier's clock at first sight. */
  readonly firstSeenAt: string;
  /** It came in out of order: alerted, and never counted as a reconciled credit. */
  readonly late: boolean;
}

/** Something wrong with the web app's ledger, standing until it no longer holds. */
export interface LedgerFinding {
  /** What it is about: `entry:ID`, `order:ID`, `deposit:TXID:VOUT`, `internal:REF`, `balance:USER`. */
  readonly key: string;
  readonly kind: LedgerAlertKind;
  /** 'suspect': seen, not alerted (it may still be an honest race); 'open': alerted once. */
  readonly state: 'suspect' | 'open';
  /** What makes it the same finding: the alert goes out again only when this changes. */
  readonly signature: string;
  readonly user: string | undefined;
  readonly detail: string;
  readonly firstSeenAt: string;
  readonly changedAt: string;
}

/** The ledger part of one verifier commit. */
export interface LedgerCommit {
  readonly entries?: readonly MirroredEntry[];
  /** Findings inserted or replaced (by key). */
  readonly findingsSet?: readonly LedgerFinding[];
  /** Findings that no longer hold. */
  readonly findingsDrop?: readonly string[];
}

/** The verifier's mirror of the ledger (sql/verifier/<dialect>/003_ledger.sql); reads only, writes go through VerifierStore.commit. */
export interface LedgerMirror {
  /** Mirrored entries with an id in (afterId, toId] (toId undefined: no upper bound), ascending, at most `limit`. */
  entriesBetween(afterId: bigint, toId: bigint | undefined, limit: number): Promise<MirroredEntry[]>;
  /** Mirrored entries of these refs (every kind). */
  entriesOfRefs(refs: readonly string[]): Promise<MirroredEntry[]>;
  /** Mirrored entries of these users (every kind). */
  entriesOfUsers(users: readonly string[]): Promise<MirroredEntry[]>;
  /** The sum of each of these users' mirrored entries (users without entries are absent). */
  sumsOf(users: readonly string[]): Promise<Map<string, bigint>>;
  findings(): Promise<Map<string, LedgerFinding>>;
  /**
   * Before the first mirror: drop the secondary indexes of an EMPTY mirror,
   * to build each once after it (one sort) instead of maintaining it through
   * 1,000,000 inserts. False, changing nothing, when the mirror holds rows.
   */
  beginFirstMirror(): Promise<boolean>;
  /** Build every secondary index that is missing: after the first mirror, and on first use after a crash during it. */
  restoreIndexes(): Promise<void>;
}

/** A chain deposit as the verifier's own chain view credits it. */
export interface CreditedDeposit {
  readonly user: string;
  readonly amountSat: bigint;
  readonly height: number;
}

/**
 * The ONE thing the ledger step needs from the verifier's chain view: every
 * deposit it credits, keyed `txid:vout`, to the user recorded at first sight
 * of the address. Until the chain view is wired (branch verifier-chain) the
 * verifier runs without it and checks no deposit entry.
 */
export interface CreditedDeposits {
  creditedDeposits(): Promise<Map<string, CreditedDeposit>>;
}
