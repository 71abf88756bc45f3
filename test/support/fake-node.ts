/**
 * A local HTTP server (127.0.0.1, port 0) serving a RegtestChain the way a
 * real node does:
 *
 * - Bitcoin Core JSON-RPC 1.0 at `/`: basic auth (401 with an empty body, as
 *   Core), `{"result","error","id"}` envelopes, HTTP 500 for RPC errors and 404
 *   for an unknown method (Core's legacy JSON-RPC server), error codes -8
 *   (height out of range, bad parameter), -5 (block/tx not found), -28
 *   (warming up), -32700 (parse error), -32601 (method not found);
 * - Esplora REST at `/api/…`: text heights and hashes, binary raw blocks,
 *   JSON lists and fee estimates, 404 "Block not found" / "Transaction not found".
 *
 * It can be told to be down (connections reset), slow, to answer garbage, to
 * answer HTTP 500 / Core's -28 for the next N requests, or to corrupt one block;
 * and to be one of the Core-compatible nodes that differ from Core: answering
 * sendrawtransaction with a wrong txid, having no testmempoolaccept (-32601),
 * or no txindex with its own "not found" code (e.g. -1 "Transaction not found").
 *
 * Like Core, sendrawtransaction and testmempoolaccept refuse a transaction
 * spending an output that does not exist or is spent in a block (-25
 * "bad-txns-inputs-missingorspent"), one already in a block (-27), and one
 * spending what a mempool transaction spends unless it pays more fee (a
 * BIP125 replacement, which evicts the other; else -26 "txn-mempool-conflict").
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Transaction } from 'bitcoinjs-lib';
import type { RegtestChain } from './regtest-chain.js';

export const RPC_USER = 'coldpool';
export const RPC_PASSWORD = 'n0t-in-any-log-7f3a9c';

export interface FaultPlan {
  /** Reset every connection without answering. */
  down?: boolean;
  /** Delay every answer by this many ms. */
  slowMs?: number;
  /** Answer every request with an HTML page and HTTP 200. */
  garbage?: boolean;
  /** Answer the next N requests with HTTP 500 (Core: work queue / proxy error page). */
  http500?: number;
  /** Answer the next N RPC calls with error -28 "Loading block index…". */
  warmup?: number;
  /** Serve the block at this height with one byte flipped in its coinbase (the merkle root no longer matches). */
  corruptHeight?: number;
  /** sendrawtransaction and POST /tx take the transaction but answer another txid (its bytes in internal order, a byte-order bug). */
  wrongTxid?: boolean;
  /** No testmempoolaccept: error -32601 "Method not found" (HTTP 404), as older Core and other Core-compatible nodes answer. */
  noTestAccept?: boolean;
  /** getrawtransaction finds mempool transactions only (no -txindex) and answers any other with this error (Core: -5; others e.g. -1 "Transaction not found"). */
  noTxIndex?: { code: number; message: string };
}

export class FakeNode {
  chain: RegtestChain;
  readonly mempool = new Map<string, Transaction>();
  faults: FaultPlan = {};
  /** Every request seen: `rpc <method>` or `GET /api/...`. */
  readonly log: string[] = [];
  /** Called with each log entry as it happens (tests kill a client after the n-th block). */
  onRequest: ((entry: string) => void) | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(chain: RegtestChain) {
    this.chain = chain;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get rpcUrl(): string {
    return `http://${RPC_USER}:${RPC_PASSWORD}@127.0.0.1:${this.port}`;
  }

  get esploraUrl(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Replace the served chain (a reorg when `chain` forks the old one); mempool txs now confirmed leave the mempool. */
  setChain(chain: RegtestChain): void {
    this.chain = chain;
    for (const b of chain.blocks) for (const t of b.txs) this.mempool.delete(t.getId());
    // as Core: what now spends a coin spent in a block (or gone) leaves the mempool, and its descendants with it
    for (let changed = true; changed;) {
      changed = false;
      for (const [txid, t] of this.mempool) {
        if (this.refusal(t, false)?.code === -25) {
          this.mempool.delete(txid);
          changed = true;
        }
      }
    }
  }

  /** The mempool as a miner would put it in a block: parents before children. */
  blockTemplate(): Transaction[] {
    const out: Transaction[] = [];
    const placed = new Set<string>();
    for (let progress = true; progress;) {
      progress = false;
      for (const [txid, t] of this.mempool) {
        if (placed.has(txid)) continue;
        if (t.ins.every((i) => { const parent = Buffer.from(i.hash).reverse().toString('hex'); return !this.mempool.has(parent) || placed.has(parent); })) {
          out.push(t);
          placed.add(txid);
          progress = true;
        }
      }
    }
    return out;
  }

  addToMempool(tx: Transaction): void {
    this.mempool.set(tx.getId(), tx);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (this.faults.down) {
      req.socket.destroy();
      return;
    }
    if (this.faults.slowMs) await new Promise((r) => setTimeout(r, this.faults.slowMs));
    if (this.faults.garbage) return send(res, 200, 'text/html', '<html><body>502 Bad Gateway? no: 200 OK, here is a captive portal</body></html>');
    if (this.faults.http500 && this.faults.http500 > 0) {
      this.faults.http500--;
      return send(res, 500, 'text/html', '<html><head><title>500 Internal Server Error</title></head></html>');
    }
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/api/')) return this.esplora(req.method ?? 'GET', url.pathname.slice('/api/'.length), body, res);
    if (req.method === 'POST' && (url.pathname === '/' || url.pathname === '')) return this.rpc(req, body, res);
    send(res, 404, 'text/plain', 'Not found');
  }

  // ---- Bitcoin Core JSON-RPC ------------------------------------------------

  private rpc(req: IncomingMessage, body: string, res: ServerResponse): void {
    const expected = `Basic ${Buffer.from(`${RPC_USER}:${RPC_PASSWORD}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="jsonrpc"', 'Content-Length': '0' });
      res.end();
      return;
    }
    let request: { id?: unknown; method?: unknown; params?: unknown };
    try {
      request = JSON.parse(body) as typeof request;
    } catch {
      return rpcReply(res, 500, null, { code: -32700, message: 'Parse error' }, null);
    }
    const id = request.id ?? null;
    const method = String(request.method);
    const params = Array.isArray(request.params) ? request.params : [];
    this.log.push(`rpc ${method}`);
    this.onRequest?.(`rpc ${method}`);
    if (this.faults.warmup && this.faults.warmup > 0) {
      this.faults.warmup--;
      return rpcReply(res, 500, null, { code: -28, message: 'Loading block index…' }, id);
    }
    try {
      const result = this.rpcResult(method, params);
      rpcReply(res, 200, result, null, id);
    } catch (e) {
      const err = e as { rpc?: { code: number; message: string } };
      if (!err.rpc) throw e;
      rpcReply(res, err.rpc.code === -32601 ? 404 : 500, null, err.rpc, id);
    }
  }

  private rpcResult(method: string, params: unknown[]): unknown {
    const chain = this.chain;
    switch (method) {
      case 'getblockchaininfo':
        return {
          chain: 'regtest', blocks: chain.height, headers: chain.height, bestblockhash: chain.tip.hash, difficulty: 4.656542373906925e-10,
          time: chain.tip.time, mediantime: chain.tip.time, verificationprogress: 1, initialblockdownload: false,
          chainwork: (chain.height * 2 + 2).toString(16).padStart(64, '0'), size_on_disk: chain.blocks.reduce((s, b) => s + b.raw.length, 0), pruned: false, warnings: '',
        };
      case 'getblockcount':
        return chain.height;
      case 'getblockhash': {
        const h = params[0];
        if (typeof h !== 'number' || !Number.isInteger(h)) throw rpcError(-3, 'JSON value of type string is not of expected type number');
        if (h < 0 || h > chain.height) throw rpcError(-8, 'Block height out of range');
        return chain.blocks[h]!.hash;
      }
      case 'getblock':
      case 'getblockheader': {
        const hash = params[0];
        if (typeof hash !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hash)) throw rpcError(-8, `blockhash must be of length 64 (not ${String(hash).length}, for '${String(hash)}')`);
        const b = chain.byHash(hash);
        if (!b) throw rpcError(-5, method === 'getblock' ? 'Block not found' : 'Block not found');
        if (method === 'getblockheader') {
          if (params[1] === false) return b.raw.subarray(0, 80).toString('hex');
          return { hash: b.hash, height: b.height, time: b.time, nTx: b.txs.length, previousblockhash: b.height > 0 ? chain.blocks[b.height - 1]!.hash : undefined };
        }
        const verbosity = params[1] ?? 1;
        if (verbosity === 0) return this.served(b.height, b.raw).toString('hex');
        return { hash: b.hash, confirmations: chain.height - b.height + 1, height: b.height, time: b.time, nTx: b.txs.length, tx: b.txs.map((t) => t.getId()) };
      }
      case 'getrawmempool':
        return [...this.mempool.keys()];
      case 'getrawtransaction': {
        const txid = String(params[0]);
        const tx = this.mempool.get(txid) ?? (this.faults.noTxIndex ? undefined : chain.findTx(txid));
        if (!tx && this.faults.noTxIndex) throw rpcError(this.faults.noTxIndex.code, this.faults.noTxIndex.message);
        if (!tx) throw rpcError(-5, 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.');
        return tx.toHex();
      }
      case 'estimatesmartfee':
        return { feerate: 0.00012345, blocks: Number(params[0] ?? 6) };
      case 'testmempoolaccept': {
        if (this.faults.noTestAccept) throw rpcError(-32601, 'Method not found');
        const txs = (params[0] as string[]).map((h) => Transaction.fromHex(h));
        return txs.map((t) => {
          const wtxid = Buffer.from(t.getHash(true)).reverse().toString('hex');
          const refused = this.mempool.has(t.getId()) ? { code: -27, message: 'txn-already-in-mempool' } : this.refusal(t);
          return refused ? { txid: t.getId(), wtxid, allowed: false, 'reject-reason': refused.message } : { txid: t.getId(), wtxid, allowed: true, vsize: t.virtualSize(), fees: { base: 0.00001 } };
        });
      }
      case 'sendrawtransaction': {
        const tx = Transaction.fromHex(String(params[0]));
        if (!this.mempool.has(tx.getId())) {
          const refused = this.refusal(tx);
          if (refused) throw rpcError(refused.code, refused.message);
          for (const other of this.conflicts(tx)) this.mempool.delete(other.getId()); // replaced (BIP125)
        }
        this.addToMempool(tx);
        return this.answeredTxid(tx);
      }
      default:
        throw rpcError(-32601, 'Method not found');
    }
  }

  /** The output `txid:vout` spends, from a block or the mempool. */
  private prevout(txid: string, vout: number): { value: bigint } | undefined {
    const tx = this.chain.findTx(txid) ?? this.mempool.get(txid);
    const out = tx?.outs[vout];
    return out ? { value: BigInt(out.value) } : undefined;
  }

  /** Mempool transactions spending an output `tx` spends. */
  private conflicts(tx: Transaction): Transaction[] {
    const spends = new Set(tx.ins.map((i) => `${Buffer.from(i.hash).reverse().toString('hex')}:${i.index}`));
    return [...this.mempool.values()].filter((m) => m.getId() !== tx.getId() && m.ins.some((i) => spends.has(`${Buffer.from(i.hash).reverse().toString('hex')}:${i.index}`)));
  }

  private feeOf(tx: Transaction): bigint {
    return tx.ins.reduce((s, i) => s + (this.prevout(Buffer.from(i.hash).reverse().toString('hex'), i.index)?.value ?? 0n), 0n) - tx.outs.reduce((s, o) => s + BigInt(o.value), 0n);
  }

  /** Why Core would refuse `tx` (undefined: it would take it). */
  private refusal(tx: Transaction, checkMempool = true): { code: number; message: string } | undefined {
    if (this.chain.findTx(tx.getId())) return { code: -27, message: 'Transaction outputs already in utxo set' };
    const spentInBlocks = new Set<string>();
    for (const b of this.chain.blocks) for (const t of b.txs) for (const i of t.ins) spentInBlocks.add(`${Buffer.from(i.hash).reverse().toString('hex')}:${i.index}`);
    for (const i of tx.ins) {
      const key = `${Buffer.from(i.hash).reverse().toString('hex')}:${i.index}`;
      if (!this.prevout(Buffer.from(i.hash).reverse().toString('hex'), i.index) || spentInBlocks.has(key)) return { code: -25, message: 'bad-txns-inputs-missingorspent' };
    }
    if (!checkMempool) return undefined;
    const others = this.conflicts(tx);
    if (others.length > 0 && this.feeOf(tx) <= others.reduce((s, o) => s + this.feeOf(o), 0n)) return { code: -26, message: 'txn-mempool-conflict' };
    return undefined;
  }

  /** The txid a broadcast answers: the transaction's, or with `faults.wrongTxid` its internal byte order. */
  private answeredTxid(tx: Transaction): string {
    return this.faults.wrongTxid ? Buffer.from(tx.getHash()).toString('hex') : tx.getId();
  }

  /** The block bytes as served: corrupted at `faults.corruptHeight`. */
  private served(height: number, raw: Buffer): Buffer {
    if (this.faults.corruptHeight !== height) return raw;
    const copy = Buffer.from(raw);
    const at = 80 + 1 + 4 + 2 + 1 + 10; // inside the coinbase's input: its txid, hence the merkle root, no longer matches
    copy[at] = copy[at]! ^ 0xff;
    return copy;
  }

  // ---- Esplora REST ---------------------------------------------------------

  private esplora(method: string, path: string, body: string, res: ServerResponse): void {
    this.log.push(`${method} /api/${path}`);
    this.onRequest?.(`${method} /api/${path}`);
    const chain = this.chain;
    let m: RegExpExecArray | null;
    if (method === 'POST' && path === 'tx') {
      try {
        const tx = Transaction.fromHex(body.trim());
        const refused = this.mempool.has(tx.getId()) ? undefined : this.refusal(tx);
        if (refused) return send(res, 400, 'text/plain', `sendrawtransaction RPC error: ${JSON.stringify(refused)}`);
        for (const other of this.conflicts(tx)) this.mempool.delete(other.getId());
        this.addToMempool(tx);
        return send(res, 200, 'text/plain', this.answeredTxid(tx));
      } catch {
        return send(res, 400, 'text/plain', 'sendrawtransaction RPC error: {"code":-22,"message":"TX decode failed"}');
      }
    }
    if (method !== 'GET') return send(res, 404, 'text/plain', 'Not found');
    if (path === 'blocks/tip/height') return send(res, 200, 'text/plain', String(chain.height));
    if (path === 'blocks/tip/hash') return send(res, 200, 'text/plain', chain.tip.hash);
    if ((m = /^block-height\/(\d+)$/.exec(path))) {
      const b = chain.blocks[Number(m[1])];
      return b ? send(res, 200, 'text/plain', b.hash) : send(res, 404, 'text/plain', 'Block not found');
    }
    if ((m = /^block\/([0-9a-f]{64})\/(raw|header)$/.exec(path))) {
      const b = chain.byHash(m[1]!);
      if (!b) return send(res, 404, 'text/plain', 'Block not found');
      return m[2] === 'raw' ? send(res, 200, 'application/octet-stream', this.served(b.height, b.raw)) : send(res, 200, 'text/plain', b.raw.subarray(0, 80).toString('hex'));
    }
    if (path === 'mempool/txids') return send(res, 200, 'application/json', JSON.stringify([...this.mempool.keys()]));
    if ((m = /^tx\/([0-9a-f]{64})\/hex$/.exec(path))) {
      const tx = this.mempool.get(m[1]!) ?? chain.findTx(m[1]!);
      return tx ? send(res, 200, 'text/plain', tx.toHex()) : send(res, 404, 'text/plain', 'Transaction not found');
    }
    if (path === 'fee-estimates') return send(res, 200, 'application/json', JSON.stringify({ 2: 12.345, 3: 10.5, 6: 5.001, 144: 1.0, 1008: 1.0 }));
    send(res, 404, 'text/plain', 'Not found');
  }
}

function rpcError(code: number, message: string): Error {
  return Object.assign(new Error(message), { rpc: { code, message } });
}

function rpcReply(res: ServerResponse, status: number, result: unknown, error: unknown, id: unknown): void {
  send(res, status, 'application/json', `${JSON.stringify({ result, error, id })}\n`);
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}
