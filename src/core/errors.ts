/**
 * The one error type of coldpool. Every failure the operator can meet carries a
 * stable `code` (for scripts and tests), a message that names the thing, what
 * was expected and what came, an optional `hint` (what to do next) and a
 * `context` object that must never hold secrets.
 *
 * @example
 * throw new CodedError('USAGE', '"--count" expected an integer 1..2147483648, got "abc"');
 */
export const ErrorCode = {
  /** Bad flag, bad argument, missing option. */
  USAGE: 'USAGE',
  /** Data that is not what it claims: bad mnemonic, bad descriptor, bad file. */
  INVALID_INPUT: 'INVALID_INPUT',
  /** A checksum or digest did not match. */
  CHECKSUM: 'CHECKSUM',
  /** Keystore could not be decrypted: wrong password or tampered file. */
  DECRYPT: 'DECRYPT',
  /** Network of the input does not match the network in use. */
  NETWORK_MISMATCH: 'NETWORK_MISMATCH',
  /** A file that must not be overwritten already exists. */
  EXISTS: 'EXISTS',
  /** A file that must exist does not. */
  NOT_FOUND: 'NOT_FOUND',
  /** Refused by policy (a cap, a rule, a private key where a public one belongs). */
  REFUSED: 'REFUSED',
  /** A state transition lost a race or was not allowed from the current state. */
  STATE_CONFLICT: 'STATE_CONFLICT',
  /** The pool has no available address. */
  POOL_EMPTY: 'POOL_EMPTY',
  /** The pool is below its low-water threshold (pool check). */
  POOL_LOW: 'POOL_LOW',
  /** A database or node could not be reached. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** The operator cancelled (Ctrl-C, answered no). */
  CANCELLED: 'CANCELLED',
  /** A bug: something that should not happen. */
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface CodedErrorOptions {
  hint?: string;
  context?: Record<string, unknown>;
  cause?: unknown;
}

export class CodedError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: CodedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CodedError';
    this.code = code;
    this.hint = options.hint;
    this.context = options.context ?? {};
  }
}

/** True when `e` is a CodedError with one of the given codes. */
export function isCoded(e: unknown, ...codes: ErrorCode[]): e is CodedError {
  return e instanceof CodedError && (codes.length === 0 || codes.includes(e.code));
}

/** Shorthand for the most common throw: invalid input naming the field. */
export function invalid(field: string, expected: string, got: unknown, hint?: string): CodedError {
  return new CodedError('INVALID_INPUT', `"${field}" expected ${expected}, got ${show(got)}`, hint ? { hint } : {});
}

/** Quote a received value for an error message, cut short so a huge input cannot flood the terminal. */
export function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
