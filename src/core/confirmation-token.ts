import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CodedError, show } from './errors.js';

/**
 * The one-time confirmation token the verifier emails a user for one
 * request: 32 random bytes (256 bits) as 43 base64url characters, so it
 * survives any URL and mail client unchanged. The verifier keeps only its
 * sha256; the web database sees the token only when the user's click relays
 * it, after which it never works again.
 */
export const TOKEN_BYTES = 32;

export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** sha256 of the token's text, 64 lower-case hex: what the verifier's database keeps. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * True when `relayed` is the token whose hash is `storedHash`. Both sides are
 * hashed to 32 bytes first, so the comparison takes the same time whatever
 * was typed and however much of it matches (timingSafeEqual).
 */
export function tokenMatches(storedHash: string, relayed: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(storedHash)) return false;
  return timingSafeEqual(Buffer.from(storedHash, 'hex'), createHash('sha256').update(relayed, 'utf8').digest());
}

/**
 * Check a confirmation link template: an http(s) URL with `{id}` and
 * `{token}` (e.g. `https://shop.example/confirm?w={id}&t={token}`).
 */
export function checkLinkTemplate(template: unknown, field = 'confirmUrl'): string {
  if (typeof template !== 'string' || !template.includes('{token}') || !template.includes('{id}')) {
    throw new CodedError('INVALID_INPUT', `"${field}" expected a link template with {id} and {token}, like https://shop.example/confirm?w={id}&t={token}, got ${show(template)}`);
  }
  let url: URL | undefined;
  try {
    url = new URL(template.replaceAll('{id}', '1').replaceAll('{token}', 'x'));
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new CodedError('INVALID_INPUT', `"${field}" expected an http(s) URL, got ${show(template)}`);
  return template;
}

/** The link for one request and token. */
export function confirmationLink(template: string, withdrawalId: bigint, token: string): string {
  return template.replaceAll('{id}', encodeURIComponent(withdrawalId.toString())).replaceAll('{token}', encodeURIComponent(token));
}
