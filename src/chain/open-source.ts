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
 * The node a command reads (the CLI's configuration has already weighed
 * flags, COLDPOOL_NODE / COLDPOOL_RPC_COOKIE / COLDPOOL_ESPLORA and the
 * config file). Exactly one kind must be chosen.
 *
 * @example
 * openChainSource({ node: 'http://127.0.0.1:18443', rpcCookie: '/home/op/.bitcoin/regtest/.cookie' })
 */
export function openChainSource(choice: SourceChoice): ChainSource {
  const { node, rpcCookie, esplora } = choice;
  const policy = { timeoutMs: choice.timeoutMs, retries: choice.retries, retryDelayMs: choice.retryDelayMs };
  if (esplora !== undefined && (node !== undefined || rpcCookie !== undefined)) {
    throw new CodedError('USAGE', 'choose one node: --node/--rpc-cookie (Bitcoin Core) or --esplora, not both');
  }
  if (esplora !== undefined) return new Esplora({ url: esplora, ...policy });
  if (node !== undefined || rpcCookie !== undefined) {
    return new BitcoindRpc({ url: node ?? 'http://127.0.0.1:8332', ...(rpcCookie === undefined ? {} : { cookieFile: rpcCookie }), ...policy });
  }
  throw new CodedError('USAGE', 'no node to read the chain from', {
    hint: 'pass --node http://user:pass@host:8332 (or --rpc-cookie FILE) for Bitcoin Core, or --esplora URL; or set COLDPOOL_NODE / COLDPOOL_ESPLORA (or "node" / "esplora" in the config file)',
  });
}
