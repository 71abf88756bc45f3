import { readFileSync } from 'node:fs';
import type { ChainSource, TestAccept } from '../core/ports.js';
import { parseBtc } from '../core/amount.js';
import { CodedError, show } from '../core/errors.js';
import { DEFAULT_RETRY, HASH_RE, HttpClient, Transient, excerpt, fromHex, type RetryPolicy } from './http.js';

/** Core's RPC error codes we act on (src/rpc/protocol.h). */
export const RPC_INVALID_ADDRESS_OR_KEY = -5;
export const RPC_INVALID_PARAMETER = -8;
export const RPC_IN_WARMUP = -28;
/** JSON-RPC 2.0's "Method not found", which Core and Core-compatible nodes answer for a call they do not have. */
export const RPC_METHOD_NOT_FOUND = -32601;

/** How nodes word "no such transaction" (Core -5 "No such mempool or blockchain transaction", btcd "No information available", others -1 "Transaction not found"). */
const TX_NOT_FOUND_RE = /not found|no such|no information available/i;

export interface BitcoindRpcOptions extends Partial<RetryPolicy> {
  /** `http://user:pass@host:port` (the password may also come from `cookieFile`). */
  readonly url: string;
  /** Core's `.cookie` file (`__cookie__:hex`), read at start and again after a 401 (it changes on every node restart). */
  readonly cookieFile?: string;
}

/** An RPC error Core returned: the call reached the node and it said no. */
export class RpcError extends CodedError {
  constructor(readonly rpcCode: number, readonly rpcMessage: string, node: string, call: string) {
    super('INVALID_INPUT', `${node} refused ${call}: ${rpcMessage} (RPC error ${rpcCode})`, { context: { node, call, rpcCode } });
  }
}

/**
 * Bitcoin Core over JSON-RPC 1.0 (`{"jsonrpc":"1.0","id":n,"method","params"}`
 * → `{"result","error","id"}`), with HTTP basic auth. No wallet is needed on
 * the node: only blockchain, mempool, fee and raw-transaction calls.
 *
 * The password is held in this object only: the label, every error and every
 * log line show `http://user@host:port`.
 *
 * @see https://bitcoincore.org/en/doc/29.0.0/rpc/
 * @example
 * const node = new BitcoindRpc({ url: 'http://127.0.0.1:8332', cookieFile: '/var/lib/bitcoind/.cookie' });
 * await node.tipHeight();
 */
export class BitcoindRpc implements ChainSource {
  readonly label: string;
  private readonly http: HttpClient;
  private auth: string | undefined;
  private nextId = 0;

  constructor(private readonly opts: BitcoindRpcOptions) {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new CodedError('USAGE', `"--node" expected http://user:pass@host:port, got ${show(opts.url.replace(/\/\/[^@/]*@/, '//***@'))}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CodedError('USAGE', `"--node" expected an http:// or https:// URL, got ${show(url.protocol)}`);
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    url.username = '';
    url.password = '';
    this.label = `bitcoind ${url.protocol}//${user ? `${user}@` : ''}${url.host}${url.pathname === '/' ? '' : url.pathname}`;
    this.auth = opts.cookieFile ? this.readCookie() : user || password ? basic(`${user}:${password}`) : undefined;
    this.http = new HttpClient(url, this.label, { ...DEFAULT_RETRY, ...definedOnly(opts) });
  }

  private readCookie(): string {
    try {
      const text = readFileSync(this.opts.cookieFile!, 'utf8').trim();
      if (!text.includes(':')) throw new Error('not user:password');
      return basic(text);
    } catch (e) {
      throw new CodedError('UNAVAILABLE', `cannot read the RPC cookie file ${this.opts.cookieFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
        hint: 'the node writes .cookie in its data directory while it runs; pass that path with --rpc-cookie and make it readable for this user',
      });
    }
  }

  /** One RPC call: retried on network errors, HTTP 5xx without an RPC answer, and -28 (warming up). */
  async call<T>(method: string, params: readonly unknown[] = []): Promise<T> {
    const call = `${method}(${params.map((p) => (typeof p === 'string' && p.length > 70 ? '<hex>' : JSON.stringify(p))).join(', ')})`;
    let reread = false;
    return this.http.retry(call, async () => {
      const id = ++this.nextId;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (this.auth) headers.authorization = this.auth;
      const reply = await this.http.request('', { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '1.0', id, method, params }) });
      if (reply.status === 401) {
        if (this.opts.cookieFile && !reread) {
          reread = true;
          this.auth = this.readCookie();
          throw new Transient('authentication failed (re-read the cookie)');
        }
        throw new CodedError('REFUSED', `${this.label} refused the credentials (HTTP 401) for ${call}`, { hint: 'check rpcuser/rpcpassword or rpcauth in bitcoin.conf, or use --rpc-cookie FILE' });
      }
      if (reply.status === 403) throw new CodedError('REFUSED', `${this.label} forbids this client (HTTP 403) for ${call}`, { hint: 'allow this machine with rpcallowip in bitcoin.conf' });
      let envelope: unknown;
      try {
        envelope = JSON.parse(reply.body.toString('utf8'));
      } catch {
        if (reply.status >= 500 || reply.status === 429) throw new Transient(`HTTP ${reply.status}`);
        throw new CodedError('INVALID_INPUT', `${this.label} answered ${call} with something that is not JSON-RPC (HTTP ${reply.status}): ${excerpt(reply.body)}`, { context: { node: this.label, call } });
      }
      const e = envelope as { result?: unknown; error?: { code?: unknown; message?: unknown } | null; id?: unknown };
      if (typeof envelope !== 'object' || envelope === null || !('result' in e) || !('error' in e) || e.id !== id) {
        if (reply.status >= 500) throw new Transient(`HTTP ${reply.status}`);
        throw new CodedError('INVALID_INPUT', `${this.label} answered ${call} without a JSON-RPC 1.0 envelope for id ${id}: ${excerpt(reply.body)}`, { context: { node: this.label, call } });
      }
      if (e.error) {
        const code = typeof e.error.code === 'number' ? e.error.code : 0;
        if (code === RPC_IN_WARMUP) throw new Transient(`node warming up: ${String(e.error.message)}`);
        throw new RpcError(code, String(e.error.message), this.label, call);
      }
      return e.result as T;
    });
  }

  private garbage(call: string, got: unknown): CodedError {
    return new CodedError('INVALID_INPUT', `${this.label} answered ${call} with ${show(typeof got === 'string' ? got : JSON.stringify(got))}, not what the RPC documents`, { context: { node: this.label, call } });
  }

  async chainName(): Promise<string> {
    const info = await this.call<{ chain?: unknown }>('getblockchaininfo');
    if (typeof info?.chain !== 'string') throw this.garbage('getblockchaininfo', info);
    return info.chain;
  }

  async tipHeight(): Promise<number> {
    const n = await this.call<unknown>('getblockcount');
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw this.garbage('getblockcount', n);
    return n;
  }

  async blockHash(height: number): Promise<string | undefined> {
    const hash = await this.orMissing((e) => e.rpcCode === RPC_INVALID_PARAMETER, () => this.call<unknown>('getblockhash', [height]));
    if (hash === undefined) return undefined;
    if (typeof hash !== 'string' || !HASH_RE.test(hash)) throw this.garbage('getblockhash', hash);
    return hash;
  }

  async rawBlock(hash: string): Promise<Uint8Array | undefined> {
    return this.hexCall('getblock', [hash, 0]);
  }

  async rawHeader(hash: string): Promise<Uint8Array | undefined> {
    return this.hexCall('getblockheader', [hash, false]);
  }

  async mempoolTxids(): Promise<string[]> {
    const ids = await this.call<unknown>('getrawmempool');
    if (!Array.isArray(ids) || !ids.every((t) => typeof t === 'string' && HASH_RE.test(t))) throw this.garbage('getrawmempool', ids);
    return ids as string[];
  }

  /** Any "not found" answer is undefined, whatever its code: the caller then reads the transaction from its block. */
  async rawTransaction(txid: string): Promise<Uint8Array | undefined> {
    return this.hexCall('getrawtransaction', [txid], (e) => e.rpcCode === RPC_INVALID_ADDRESS_OR_KEY || TX_NOT_FOUND_RE.test(e.rpcMessage));
  }

  async estimateFeeRateSatKvb(targetBlocks: number): Promise<bigint | undefined> {
    const r = await this.call<{ feerate?: unknown; errors?: unknown }>('estimatesmartfee', [targetBlocks]);
    if (typeof r !== 'object' || r === null) throw this.garbage('estimatesmartfee', r);
    if (r.feerate === undefined) return undefined;
    if (typeof r.feerate !== 'number' || !(r.feerate > 0)) throw this.garbage('estimatesmartfee', r);
    return parseBtc(r.feerate.toFixed(8), 'feerate'); // BTC/kvB → sat/kvB
  }

  async testAccept(txHex: string): Promise<TestAccept> {
    let r: unknown;
    try {
      r = await this.call<unknown>('testmempoolaccept', [[txHex]]);
    } catch (e) {
      if (e instanceof RpcError && e.rpcCode === RPC_METHOD_NOT_FOUND) return { untested: `${this.label} has no testmempoolaccept (RPC error ${e.rpcCode} ${e.rpcMessage})` };
      throw e;
    }
    const first = Array.isArray(r) ? (r[0] as { allowed?: unknown; 'reject-reason'?: unknown } | undefined) : undefined;
    if (!first || typeof first.allowed !== 'boolean') throw this.garbage('testmempoolaccept', r);
    return { allowed: first.allowed, reason: typeof first['reject-reason'] === 'string' ? first['reject-reason'] : undefined };
  }

  async broadcast(txHex: string): Promise<string> {
    const txid = await this.call<unknown>('sendrawtransaction', [txHex]);
    if (typeof txid !== 'string' || !HASH_RE.test(txid)) throw this.garbage('sendrawtransaction', txid);
    return txid;
  }

  private async hexCall(method: string, params: unknown[], missing: (e: RpcError) => boolean = (e) => e.rpcCode === RPC_INVALID_ADDRESS_OR_KEY): Promise<Uint8Array | undefined> {
    const hex = await this.orMissing(missing, () => this.call<unknown>(method, params));
    if (hex === undefined) return undefined;
    const bytes = fromHex(hex);
    if (!bytes || bytes.length === 0) throw this.garbage(method, hex);
    return bytes;
  }

  /** A "not found" answer (Core: -5 for an unknown block/tx, -8 for a height above the tip) as undefined. */
  private async orMissing<T>(missing: (e: RpcError) => boolean, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof RpcError && missing(e)) return undefined;
      throw e;
    }
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

function basic(userPass: string): string {
  return `Basic ${Buffer.from(userPass).toString('base64')}`;
}

function definedOnly(o: Partial<RetryPolicy>): Partial<RetryPolicy> {
  const out: Record<string, number> = {};
  for (const k of ['timeoutMs', 'retries', 'retryDelayMs'] as const) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
