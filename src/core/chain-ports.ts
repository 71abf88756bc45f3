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
  close(): Promise<void>;
}
