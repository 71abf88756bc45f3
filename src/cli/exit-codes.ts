import { CodedError, type ErrorCode } from '../core/errors.js';

/**
 * The one exit-code table of both programs. Scripts and monitoring depend on
 * these numbers: change them only with a major version.
 */
export const ExitCode = {
  OK: 0,
  UNEXPECTED: 1,
  USAGE: 2,
  /** Refused by policy or invalid data (bad file, bad checksum, wrong network). */
  REFUSED: 3,
  /** State conflict: lost a race, wrong state, already exists. */
  CONFLICT: 4,
  /** A node or the database could not be reached. */
  UNAVAILABLE: 5,
  /** `pool check`: fewer available addresses than the threshold. */
  POOL_LOW: 6,
  CANCELLED: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const byCode: Record<ErrorCode, ExitCode> = {
  USAGE: ExitCode.USAGE,
  INVALID_INPUT: ExitCode.REFUSED,
  CHECKSUM: ExitCode.REFUSED,
  DECRYPT: ExitCode.REFUSED,
  NETWORK_MISMATCH: ExitCode.REFUSED,
  EXISTS: ExitCode.CONFLICT,
  NOT_FOUND: ExitCode.USAGE,
  REFUSED: ExitCode.REFUSED,
  STATE_CONFLICT: ExitCode.CONFLICT,
  POOL_EMPTY: ExitCode.CONFLICT,
  POOL_LOW: ExitCode.POOL_LOW,
  UNAVAILABLE: ExitCode.UNAVAILABLE,
  CANCELLED: ExitCode.CANCELLED,
  INTERNAL: ExitCode.UNEXPECTED,
};

/** The exit code for any thrown value. */
export function exitCodeFor(e: unknown): ExitCode {
  return e instanceof CodedError ? byCode[e.code] : ExitCode.UNEXPECTED;
}
