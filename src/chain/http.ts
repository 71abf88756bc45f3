import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { CodedError } from '../core/errors.js';

/**
 * The HTTP plumbing both node adapters share: one keep-alive agent, a
 * timeout per request, and bounded retries with exponential backoff for what
 * is worth retrying (network errors, timeouts, HTTP 5xx/429, Core warming up).
 * Nothing here ever prints a URL with credentials or an Authorization header:
 * callers pass `label`, the node as it may be shown.
 */
export interface HttpReply {
  readonly status: number;
  readonly body: Buffer;
}

export interface RetryPolicy {
  /** Per request, ms (default 30 s). */
  readonly timeoutMs: number;
  /** Retries after the first attempt (default 4). */
  readonly retries: number;
  /** First backoff delay, ms, doubled each retry up to 5 s (default 250). */
  readonly retryDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { timeoutMs: 30_000, retries: 4, retryDelayMs: 250 };

/** Thrown inside an attempt to ask for another one; `reason` ends up in the final error. */
export class Transient extends Error {}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'UND_ERR_SOCKET']);

export class HttpClient {
  private readonly agent: HttpAgent;

  constructor(private readonly base: URL, readonly label: string, readonly policy: RetryPolicy) {
    this.agent = base.protocol === 'https:' ? new HttpsAgent({ keepAlive: true, maxSockets: 4 }) : new HttpAgent({ keepAlive: true, maxSockets: 4 });
  }

  /** One request, no retry. Network errors and timeouts become `Transient`. */
  request(path: string, init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string }): Promise<HttpReply> {
    const url = new URL(path, this.base);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<HttpReply>((resolve, reject) => {
      const req = send(url, { method: init.method, headers: init.headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(new Transient(`connection broke while reading the answer (${(e as NodeJS.ErrnoException).code ?? e.message})`));
        });
      });
      const timer = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), this.policy.timeoutMs);
      req.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const code = e.code ?? '';
        if (code === 'ETIMEDOUT') reject(new Transient(`no answer within ${this.policy.timeoutMs} ms`));
        else if (NETWORK_CODES.has(code) || /socket hang up/.test(e.message)) reject(new Transient(code || e.message));
        else reject(new Transient(code || 'network error'));
      });
      if (init.body !== undefined) req.end(init.body);
      else req.end();
    });
  }

  /**
   * Run `attempt` until it returns, retrying `Transient` failures with
   * backoff; after the last retry, UNAVAILABLE naming the node and `call`.
   * Any other error (a CodedError from the caller's checks) passes through.
   */
  async retry<T>(call: string, attempt: () => Promise<T>): Promise<T> {
    let delay = this.policy.retryDelayMs;
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (e) {
        if (!(e instanceof Transient)) throw e;
        if (n >= this.policy.retries) {
          throw new CodedError('UNAVAILABLE', `${this.label} did not answer ${call}: ${e.message} (${n + 1} attempts)`, {
            hint: 'check that the node runs and is reachable, its URL and port, and --rpc-cookie / credentials',
            context: { node: this.label, call, attempts: n + 1 },
          });
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A short, printable excerpt of an unexpected answer (never headers, never the request). */
export function excerpt(body: Buffer): string {
  const text = body.subarray(0, 120).toString('utf8').replace(/\s+/g, ' ');
  return JSON.stringify(body.length > 120 ? `${text}…` : text);
}

/** Hex → bytes, or undefined when `text` is not even-length hex. */
export function fromHex(text: unknown): Buffer | undefined {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  return Buffer.from(text, 'hex');
}

export const HASH_RE = /^[0-9a-f]{64}$/;
