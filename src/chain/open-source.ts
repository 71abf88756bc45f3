import type { ChainSource } from '../core/ports.js';
import { CodedError } from '../core/errors.js';
import { BitcoindRpc } from './bitcoind-rpc.js';
import { Esplora } from './esplora.js';
import type { RetryPolicy } from './http.js';

export interface SourceChoice extends Partial<RetryPolicy> {
  /** `--node URL`: Bitcoin Core JSON-RPC. */
  readonly node?: string;
  /** `--rpc-cookie FILE`: Core's cookie file (with `--node`, or alone for http://127.0.0.1:8332). */
  readonly rpcCookie?: string;
  /** `--esplora URL`: an Esplora REST API root. */
  readonly esplora?: string;
}

/**
 * The node a command reads: flags first, then COLDPOOL_NODE /
 * COLDPOOL_RPC_COOKIE / COLDPOOL_ESPLORA. Exactly one kind must be chosen.
 *
 * @example
 * openChainSource({ node: 'http://127.0.0.1:18443', rpcCookie: '/home/op/.bitcoin/regtest/.cookie' })
 */
export function openChainSource(choice: SourceChoice, env: NodeJS.ProcessEnv = process.env): ChainSource {
  const flagged = choice.node !== undefined || choice.rpcCookie !== undefined || choice.esplora !== undefined;
  const node = flagged ? choice.node : env.COLDPOOL_NODE || undefined;
  const rpcCookie = flagged ? choice.rpcCookie : env.COLDPOOL_RPC_COOKIE || undefined;
  const esplora = flagged ? choice.esplora : env.COLDPOOL_ESPLORA || undefined;
  const policy = { timeoutMs: choice.timeoutMs, retries: choice.retries, retryDelayMs: choice.retryDelayMs };
  if (esplora !== undefined && (node !== undefined || rpcCookie !== undefined)) {
    throw new CodedError('USAGE', 'choose one node: --node/--rpc-cookie (Bitcoin Core) or --esplora, not both');
  }
  if (esplora !== undefined) return new Esplora({ url: esplora, ...policy });
  if (node !== undefined || rpcCookie !== undefined) {
    return new BitcoindRpc({ url: node ?? 'http://127.0.0.1:8332', ...(rpcCookie === undefined ? {} : { cookieFile: rpcCookie }), ...policy });
  }
  throw new CodedError('USAGE', 'no node to read the chain from', {
    hint: 'pass --node http://user:pass@host:8332 (or --rpc-cookie FILE) for Bitcoin Core, or --esplora URL; or set COLDPOOL_NODE / COLDPOOL_ESPLORA',
  });
}
