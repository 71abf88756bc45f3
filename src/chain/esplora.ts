import type { ChainSource } from '../core/ports.js';
import { CodedError, show } from '../core/errors.js';
import { DEFAULT_RETRY, HASH_RE, HttpClient, Transient, excerpt, fromHex, type HttpReply, type RetryPolicy } from './http.js';

export interface EsploraOptions extends Partial<RetryPolicy> {
  /** The API root, e.g. `https://blockstream.info/api` or `http://127.0.0.1:3002`. */
  readonly url: string;
}

/**
 * An Esplora REST server (Blockstream's electrs, mempool.space's API):
 * plain-text heights and hashes, raw blocks as bytes, JSON for lists and fee
 * estimates. 404 means "no such block/tx"; 5xx and 429 are retried.
 *
 * @see https://github.com/Blockstream/esplora/blob/master/API.md
 * @example
 * const node = new Esplora({ url: 'https://blockstream.info/testnet/api' });
 * await node.tipHeight();
 */
export class Esplora implements ChainSource {
  readonly label: string;
  private readonly http: HttpClient;

  constructor(opts: EsploraOptions) {
    let url: URL;
    try {
      url = new URL(opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
    } catch {
      throw new CodedError('USAGE', `"--esplora" expected an http(s) URL such as https://blockstream.info/api, got ${show(opts.url.replace(/\/\/[^@/]*@/, '//***@'))}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CodedError('USAGE', `"--esplora" expected an http:// or https:// URL, got ${show(url.protocol)}`);
    url.username = '';
    url.password = '';
    this.label = `esplora ${url.href.replace(/\/$/, '')}`;
    const policy: RetryPolicy = {
      timeoutMs: opts.timeoutMs ?? DEFAULT_RETRY.timeoutMs,
      retries: opts.retries ?? DEFAULT_RETRY.retries,
      retryDelayMs: opts.retryDelayMs ?? DEFAULT_RETRY.retryDelayMs,
    };
    this.http = new HttpClient(url, this.label, policy);
  }

  /** GET/POST with retries; 404 → undefined; other 4xx → INVALID_INPUT (or REFUSED for a rejected broadcast). */
  private async fetch(method: 'GET' | 'POST', path: string, body?: string): Promise<HttpReply | undefined> {
    const call = `${method} /${path}`;
    return this.http.retry(call, async () => {
      const reply = await this.http.request(path, { method, ...(body === undefined ? {} : { body, headers: { 'content-type': 'text/plain' } }) });
      if (reply.status === 200) return reply;
      if (reply.status === 404) return undefined;
      if (reply.status >= 500 || reply.status === 429) throw new Transient(`HTTP ${reply.status}`);
      if (method === 'POST') throw new CodedError('REFUSED', `${this.label} rejected ${call}: ${excerpt(reply.body)} (HTTP ${reply.status})`, { context: { node: this.label, call } });
      throw new CodedError('INVALID_INPUT', `${this.label} answered ${call} with HTTP ${reply.status}: ${excerpt(reply.body)}`, { context: { node: this.label, call } });
    });
  }

  private garbage(call: string, body: Buffer): CodedError {
    return new CodedError('INVALID_INPUT', `${this.label} answered ${call} with ${excerpt(body)}, not what the Esplora API documents`, { context: { node: this.label, call } });
  }

  private async text(path: string, re: RegExp): Promise<string | undefined> {
    const reply = await this.fetch('GET', path);
    if (!reply) return undefined;
    const text = reply.body.toString('utf8').trim();
    if (!re.test(text)) throw this.garbage(`GET /${path}`, reply.body);
    return text;
  }

  private async json(path: string): Promise<unknown> {
    const reply = await this.fetch('GET', path);
    if (!reply) throw new CodedError('INVALID_INPUT', `${this.label} has no /${path} (HTTP 404): is this an Esplora API root?`, { context: { node: this.label } });
    try {
      return JSON.parse(reply.body.toString('utf8'));
    } catch {
      throw this.garbage(`GET /${path}`, reply.body);
    }
  }

  /** Esplora does not name its network; the follower checks addresses instead. */
  async chainName(): Promise<undefined> {
    return undefined;
  }

  async tipHeight(): Promise<number> {
    const text = await this.text('blocks/tip/height', /^\d{1,9}$/);
    if (text === undefined) throw new CodedError('INVALID_INPUT', `${this.label} has no /blocks/tip/height (HTTP 404): is this an Esplora API root?`);
    return Number(text);
  }

  async blockHash(height: number): Promise<string | undefined> {
    return this.text(`block-height/${height}`, HASH_RE);
  }

  async rawBlock(hash: string): Promise<Uint8Array | undefined> {
    const reply = await this.fetch('GET', `block/${hash}/raw`);
    if (reply && reply.body.length < 81) throw this.garbage(`GET /block/${hash}/raw`, reply.body);
    return reply?.body;
  }

  async rawHeader(hash: string): Promise<Uint8Array | undefined> {
    const text = await this.text(`block/${hash}/header`, /^[0-9a-f]{160}$/);
    return text === undefined ? undefined : Buffer.from(text, 'hex');
  }

  async mempoolTxids(): Promise<string[]> {
    const ids = await this.json('mempool/txids');
    if (!Array.isArray(ids) || !ids.every((t) => typeof t === 'string' && HASH_RE.test(t))) throw new CodedError('INVALID_INPUT', `${this.label} answered GET /mempool/txids with ${show(JSON.stringify(ids))}`);
    return ids as string[];
  }

  async rawTransaction(txid: string): Promise<Uint8Array | undefined> {
    const reply = await this.fetch('GET', `tx/${txid}/hex`);
    if (!reply) return undefined;
    const bytes = fromHex(reply.body.toString('utf8').trim());
    if (!bytes || bytes.length === 0) throw this.garbage(`GET /tx/${txid}/hex`, reply.body);
    return bytes;
  }

  /** `/fee-estimates` maps targets to sat/vB; the estimate of the largest target ≤ the one asked for, ×1000. */
  async estimateFeeRateSatKvb(targetBlocks: number): Promise<bigint | undefined> {
    const table = await this.json('fee-estimates');
    if (typeof table !== 'object' || table === null || Array.isArray(table)) throw new CodedError('INVALID_INPUT', `${this.label} answered GET /fee-estimates with ${show(JSON.stringify(table))}`);
    const entries = Object.entries(table as Record<string, unknown>)
      .map(([k, v]) => [Number(k), v] as const)
      .filter(([k, v]) => Number.isInteger(k) && typeof v === 'number' && v > 0)
      .sort((a, b) => a[0] - b[0]);
    const pick = entries.filter(([k]) => k <= targetBlocks).pop() ?? entries[0];
    return pick === undefined ? undefined : BigInt(Math.ceil((pick[1] as number) * 1000));
  }

  /** Esplora has no dry-run broadcast. */
  async testAccept(): Promise<undefined> {
    return undefined;
  }

  async broadcast(txHex: string): Promise<string> {
    const reply = await this.fetch('POST', 'tx', txHex);
    const txid = reply?.body.toString('utf8').trim() ?? '';
    if (!HASH_RE.test(txid)) throw this.garbage('POST /tx', reply?.body ?? Buffer.alloc(0));
    return txid;
  }

  async close(): Promise<void> {
    this.http.close();
  }
}
