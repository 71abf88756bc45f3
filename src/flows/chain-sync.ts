import { Transaction } from 'bitcoinjs-lib';
import type { BlockRef, ChainSource, ChainStore, DroppedDeposit, FoundOutput, FoundSpend, StoredBlock } from '../core/ports.js';
import { ChangeWatch, ScriptIndex, internalHex, outpointKey, parseBlock, scanTransactions } from '../core/chain-scan.js';
import { chainNode, p2wpkhAddress } from '../core/derive.js';
import { parseAccountDescriptor } from '../core/descriptor.js';
import { CodedError } from '../core/errors.js';
import { NETWORKS, parseNetwork, type Network } from '../core/network.js';

/** Default safety margin before the first batch's creation time: block times may lag by up to 2 h. */
export const BIRTHDAY_MARGIN_SEC = 2 * 3600;
/** Change addresses derived past the highest used change index. */
export const CHANGE_GAP = 1000;

export interface ReorgReport {
  /** Height of the last block both chains share. */
  readonly forkHeight: number;
  /** Blocks rolled back. */
  readonly depth: number;
  /** Deposits of the rolled-back blocks. Classified after the catch-up in `SyncResult`. */
  readonly dropped: readonly DroppedDeposit[];
}

export type SyncEvent =
  | { readonly kind: 'start'; readonly fromHeight: number; readonly tipHeight: number; readonly scripts: number }
  | { readonly kind: 'block'; readonly height: number; readonly hash: string; readonly outputs: number; readonly spends: number; readonly tipHeight: number }
  | { readonly kind: 'reorg'; readonly report: ReorgReport }
  | { readonly kind: 'deposit-disappeared'; readonly deposit: DroppedDeposit }
  | { readonly kind: 'mempool'; readonly txs: number; readonly outputs: number; readonly spends: number };

export interface SyncOptions {
  /** First height to scan on a first sync (overrides the birthday). Ignored once blocks are recorded. */
  readonly fromHeight?: number;
  readonly birthdayMarginSec?: number;
  readonly changeGap?: number;
  readonly onEvent?: (event: SyncEvent) => void;
  /** Checked between blocks: true stops after the block in progress is committed. */
  readonly shouldStop?: () => boolean;
}

export interface SyncResult {
  /** The last committed block, or undefined when nothing was scanned yet. */
  readonly tip: BlockRef | undefined;
  readonly blocks: number;
  readonly outputs: number;
  readonly spends: number;
  readonly reorgs: readonly ReorgReport[];
  /** Deposits rolled back by a reorg and not found again in the new chain. */
  readonly disappeared: readonly DroppedDeposit[];
  /** Deposits rolled back by a reorg and found again (another block, or unconfirmed). */
  readonly moved: readonly DroppedDeposit[];
  readonly stopped: boolean;
}

const CHAIN_NAMES: Record<string, string> = { main: 'mainnet', test: 'testnet', testnet4: 'testnet', signet: 'signet', regtest: 'regtest' };

/**
 * Follows the node's chain for the pool's account: keeps the script index
 * (every loaded address plus the change chain) and the open outpoints in
 * memory, commits each block atomically with its hash, and rolls back to the
 * fork point when the node's chain no longer contains the last recorded block.
 *
 * @example
 * const follower = await ChainFollower.open(source, store);
 * const result = await follower.sync();
 */
export class ChainFollower {
  private open = new Set<string>();
  private readonly mempoolCache = new Map<string, Transaction>();

  private constructor(
    private readonly source: ChainSource,
    private readonly store: ChainStore,
    private readonly index: ScriptIndex,
    private readonly changes: Map<bigint, ChangeWatch>,
    private readonly opts: SyncOptions,
  ) {}

  /** Build the script index from the store and check the node's network against the pool's. */
  static async open(source: ChainSource, store: ChainStore, opts: SyncOptions = {}): Promise<ChainFollower> {
    const accounts = await store.accounts();
    if (accounts.length === 0) {
      throw new CodedError('USAGE', `the pool ${store.label} has no account yet: nothing to look for on the chain`, { hint: 'load a batch first: coldpool pool load FILE' });
    }
    const network = parseNetwork(accounts[0]!.network);
    const nodeChain = await source.chainName();
    if (nodeChain !== undefined && CHAIN_NAMES[nodeChain] !== network.name) {
      throw new CodedError('NETWORK_MISMATCH', `${source.label} follows chain "${nodeChain}" but the pool is on ${network.name}`);
    }
    const index = new ScriptIndex();
    await store.loadedAddresses((rows) => rows.forEach((r) => index.addAddress(r)));
    const used = await store.highestChangeIndex();
    const changes = new Map<bigint, ChangeWatch>();
    for (const a of accounts) {
      const net: Network = NETWORKS[parseNetwork(a.network).name];
      const account = parseAccountDescriptor(a.descriptor, net);
      const watch = new ChangeWatch(chainNode(account, 1), a.id, (key) => p2wpkhAddress(key, net), opts.changeGap ?? CHANGE_GAP);
      watch.ensure(index, used.get(a.id) ?? -1);
      changes.set(a.id, watch);
    }
    const follower = new ChainFollower(source, store, index, changes, opts);
    await follower.reload();
    return follower;
  }

  get scripts(): number {
    return this.index.size;
  }

  private async reload(): Promise<void> {
    this.open = new Set((await this.store.openOutpoints()).map((k) => {
      const [txid, vout] = k.split(':');
      return outpointKey(internalHex(txid!), Number(vout));
    }));
  }

  private emit(event: SyncEvent): void {
    this.opts.onEvent?.(event);
  }

  /** Catch up with the node's tip once (or until `shouldStop`). */
  async sync(): Promise<SyncResult> {
    const reorgs: ReorgReport[] = [];
    let blocks = 0;
    let outputs = 0;
    let spends = 0;
    let stopped = false;
    let tip: StoredBlock | undefined = await this.store.tip();
    // Where to start when nothing is recorded: the first recorded height if any
    // (a reorg deeper than everything recorded rolls back to it), else the birthday.
    const start = (await this.store.firstHeight()) ?? (await this.startHeight());
    let started = false;
    outer: for (;;) {
      if (this.opts.shouldStop?.()) {
        stopped = true;
        break;
      }
      const nodeTip = await this.source.tipHeight();
      if (tip) {
        const nodeHash = await this.source.blockHash(tip.height);
        if (nodeHash !== tip.hash) {
          reorgs.push(await this.rollBack(tip));
          tip = await this.store.tip();
          continue;
        }
      }
      const next = tip ? tip.height + 1 : start;
      if (!started) {
        this.emit({ kind: 'start', fromHeight: next, tipHeight: nodeTip, scripts: this.index.size });
        started = true;
      }
      if (next > nodeTip) break;
      for (let h = next; h <= nodeTip; h++) {
        if (this.opts.shouldStop?.()) {
          stopped = true;
          break outer;
        }
        const hash = await this.source.blockHash(h);
        if (hash === undefined) continue outer; // the node's tip moved back meanwhile
        const raw = await this.source.rawBlock(hash);
        if (raw === undefined) continue outer;
        const block = parseBlock(raw, hash, this.source.label);
        const prevHash = block.prevHash;
        if (tip && prevHash !== tip.hash) {
          reorgs.push(await this.rollBack(tip));
          tip = await this.store.tip();
          continue outer;
        }
        const found = scanTransactions(block.txs, this.index, this.open, (owner) => this.changes.get(owner.accountId)?.ensure(this.index, owner.index));
        const stored: StoredBlock = { height: h, hash, prevHash, time: block.time };
        try {
          await this.store.commitBlock(stored, found.outputs, found.spends);
        } catch (e) {
          await this.reload().catch(() => {});
          throw e;
        }
        tip = stored;
        blocks++;
        outputs += found.outputs.length;
        spends += found.spends.length;
        this.emit({ kind: 'block', height: h, hash, outputs: found.outputs.length, spends: found.spends.length, tipHeight: nodeTip });
      }
    }
    const { moved, disappeared } = await this.classify(reorgs);
    return { tip: tip ? { height: tip.height, hash: tip.hash } : undefined, blocks, outputs, spends, reorgs, moved, disappeared, stopped };
  }

  private async classify(reorgs: readonly ReorgReport[]): Promise<{ moved: DroppedDeposit[]; disappeared: DroppedDeposit[] }> {
    const moved: DroppedDeposit[] = [];
    const disappeared: DroppedDeposit[] = [];
    const seen = new Set<string>();
    for (const d of reorgs.flatMap((r) => r.dropped)) {
      const key = `${d.txid}:${d.vout}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (await this.store.hasOutput(d.txid, d.vout)) moved.push(d);
      else {
        disappeared.push(d);
        this.emit({ kind: 'deposit-disappeared', deposit: d });
      }
    }
    return { moved, disappeared };
  }

  /** Walk back to the last block the node still has, and undo everything after it in one transaction. */
  private async rollBack(tip: StoredBlock): Promise<ReorgReport> {
    const first = (await this.store.firstHeight()) ?? tip.height;
    let fork = first - 1;
    for (let h = tip.height - 1; h >= first; h--) {
      const ours = await this.store.hashAt(h);
      if (ours !== undefined && ours === (await this.source.blockHash(h))) {
        fork = h;
        break;
      }
    }
    const dropped = await this.store.rollbackFrom(fork + 1);
    await this.reload();
    const report: ReorgReport = { forkHeight: fork, depth: tip.height - fork, dropped };
    this.emit({ kind: 'reorg', report });
    return report;
  }

  /**
   * The first height of a first sync: `--from-height`, else the first block
   * whose time is at or after the earliest batch's creation time minus the
   * margin (binary search over headers).
   */
  private async startHeight(): Promise<number> {
    if (this.opts.fromHeight !== undefined) return this.opts.fromHeight;
    const created = await this.store.birthday();
    const t = created === undefined ? NaN : Date.parse(created);
    if (Number.isNaN(t)) return 0;
    const target = Math.floor(t / 1000) - (this.opts.birthdayMarginSec ?? BIRTHDAY_MARGIN_SEC);
    let lo = 0;
    let hi = (await this.source.tipHeight()) + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await this.headerTime(mid)) >= target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private async headerTime(height: number): Promise<number> {
    const hash = await this.source.blockHash(height);
    const header = hash === undefined ? undefined : await this.source.rawHeader(hash);
    if (header === undefined || header.length !== 80) throw new CodedError('INVALID_INPUT', `${this.source.label} returned no 80-byte header for height ${height}`);
    return Buffer.from(header.buffer, header.byteOffset, 80).readUInt32LE(68);
  }

  /**
   * Record what the mempool holds for the account, replacing the previous
   * unconfirmed view. Unconfirmed outputs are shown as deposits but never
   * spendable; outputs spent by a mempool transaction are not spendable either.
   */
  async scanMempool(): Promise<{ txs: number; outputs: number; spends: number }> {
    const txids = await this.source.mempoolTxids();
    const live = new Set(txids);
    for (const txid of [...this.mempoolCache.keys()]) if (!live.has(txid)) this.mempoolCache.delete(txid);
    for (const txid of txids) {
      if (this.mempoolCache.has(txid)) continue;
      const raw = await this.source.rawTransaction(txid);
      if (raw === undefined) continue; // confirmed or evicted meanwhile
      try {
        this.mempoolCache.set(txid, Transaction.fromBuffer(raw));
      } catch (e) {
        throw new CodedError('INVALID_INPUT', `${this.source.label} returned a transaction ${txid} that does not parse`, { cause: e });
      }
    }
    const txs = [...this.mempoolCache.values()];
    // Two passes: a child may come before its parent in the node's list.
    const first = scanTransactions(txs, this.index, new Set(this.open));
    const withParents = new Set(this.open);
    for (const o of first.outputs) withParents.add(outpointKey(internalHex(o.txid), o.vout));
    const second = scanTransactions(txs, this.index, withParents);
    const outputs: FoundOutput[] = first.outputs;
    const spends: FoundSpend[] = second.spends;
    await this.store.replaceMempool(outputs, spends);
    const summary = { txs: txs.length, outputs: outputs.length, spends: spends.length };
    this.emit({ kind: 'mempool', ...summary });
    return summary;
  }
}
