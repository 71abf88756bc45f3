/** What a verifier cycle is configured with (config.ts reads them; cycle.ts uses them). */
export interface VerifierSettings {
  /** Link template with {id} and {token}. */
  readonly confirmUrl: string;
  /** How long a mailed token works (default 1 h). */
  readonly tokenTtlMs: number;
  /** How long a user's withdrawals are held after the verifier noticed an email change (default 24 h). */
  readonly holdMs: number;
  /** How often the email mirror is synced (default hourly). */
  readonly emailSyncEveryMs: number;
  /** Wrong tokens that lock a request (default 5). */
  readonly maxWrongTokens: number;
  /** How often every address row of the web database is compared with the verifier's record (default 10 min); new rows and assignments are read every cycle. */
  readonly addressCheckEveryMs?: number;
}

export const DEFAULT_VERIFIER_SETTINGS = {
  tokenTtlMs: 3_600_000,
  holdMs: 24 * 3_600_000,
  emailSyncEveryMs: 3_600_000,
  maxWrongTokens: 5,
  addressCheckEveryMs: 10 * 60_000,
} as const;
