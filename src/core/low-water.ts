/**
 * Pure arithmetic and wording of the low-water check (flow 5), shared by
 * `coldpool pool check` and `coldpool watch`: how low the pool is, how fast it
 * drains, when it runs dry, and the exact command that refills it.
 */
import type { AlertLevel, PoolGauge } from './ports.js';

/** The default low-water mark: fewer available receive addresses than this is `critical`. */
export const DEFAULT_THRESHOLD = 1000;
/** A low alert is repeated at most this often while the pool stays low. */
export const DEFAULT_REPEAT_MS = 24 * 3_600_000;
/** Addresses per batch in the suggested derive command. */
export const DEFAULT_BATCH_COUNT = 10_000;
/** The claim rate is measured over this many days. */
export const RATE_WINDOW_DAYS = 7;
/** Keystore file named in the suggested command when none is configured (the name derive's help uses). */
export const DEFAULT_KEYSTORE = 'cold.keystore';

const DAY_MS = 86_400_000;
/** The shortest window a rate is computed over, so a pool loaded a minute ago does not show an absurd rate. */
const MIN_WINDOW_MS = 3_600_000;

export interface Thresholds {
  /** Below this: `critical` (the low-water mark). */
  readonly threshold: number;
  /** Below this (and at or above `threshold`): `warning`. Undefined: no warning level. */
  readonly warning: number | undefined;
}

/** @example levelOf(812, { threshold: 1000, warning: 2000 }) // 'critical' */
export function levelOf(available: number, t: Thresholds): AlertLevel {
  if (available < t.threshold) return 'critical';
  if (t.warning !== undefined && available < t.warning) return 'warning';
  return 'ok';
}

/** The threshold a level is below (for messages): `threshold` for critical, `warning` for warning. */
export function thresholdOf(level: AlertLevel, t: Thresholds): number {
  return level === 'warning' && t.warning !== undefined ? t.warning : t.threshold;
}

export interface Forecast {
  readonly available: number;
  /** Claims per day over the window (the last 7 days, or since the first batch when younger). */
  readonly claimsPerDay: number;
  /** Days until the pool is empty at that rate; undefined when nothing was claimed in the window. */
  readonly daysLeft: number | undefined;
  readonly windowDays: number;
  readonly nextIndex: number;
}

/** The start of the rate window for a check at `now`. */
export function rateWindowStart(now: Date): Date {
  return new Date(now.getTime() - RATE_WINDOW_DAYS * DAY_MS);
}

/**
 * Rate and days left. The window is the last 7 days, shortened to the pool's
 * age when the first batch is younger: a pool that hands out 700 addresses on
 * its first day drains at 700/day, not 100.
 *
 * @example forecast(700, { claimedSince: 700, firstLoadedAt: undefined, nextIndex: 10000 }, now).daysLeft // 7
 */
export function forecast(available: number, gauge: PoolGauge, now: Date): Forecast {
  const fullStart = rateWindowStart(now).getTime();
  const start = gauge.firstLoadedAt && gauge.firstLoadedAt.getTime() > fullStart ? gauge.firstLoadedAt.getTime() : fullStart;
  const windowMs = Math.max(MIN_WINDOW_MS, now.getTime() - start);
  const claimsPerDay = (gauge.claimedSince * DAY_MS) / windowMs;
  const daysLeft = claimsPerDay > 0 ? available / claimsPerDay : undefined;
  return { available, claimsPerDay, daysLeft, windowDays: windowMs / DAY_MS, nextIndex: gauge.nextIndex };
}

export interface DeriveAdvice {
  /** The keystore's path on the signer, as the operator configured it. */
  readonly keystore: string;
  readonly count: number;
}

/** The batch file name for a range start: `batch-010000.csv`, sorting in index order. */
export function batchFileName(from: number): string {
  return `batch-${String(from).padStart(6, '0')}.csv`;
}

/** Quote a word for a POSIX shell only when it needs it. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/**
 * The exact command to run on the signer for the next batch.
 *
 * @example
 * nextDeriveCommand(20000, { keystore: '/media/usb/cold.keystore', count: 10000 })
 * // 'coldpool-offline derive --keystore /media/usb/cold.keystore --from 20000 --count 10000 --out batch-020000.csv'
 */
export function nextDeriveCommand(nextIndex: number, advice: DeriveAdvice): string {
  return `coldpool-offline derive --keystore ${shellWord(advice.keystore)} --from ${nextIndex} --count ${advice.count} --out ${batchFileName(nextIndex)}`;
}

/** The command that loads it on the web host afterwards. */
export function nextLoadCommand(nextIndex: number): string {
  return `coldpool pool load ${batchFileName(nextIndex)}`;
}

/** `8.5 days`, `less than a day`, `unknown (no claims in the last 7 days)`. */
export function formatDaysLeft(daysLeft: number | undefined): string {
  if (daysLeft === undefined) return `unknown (no claims in the last ${RATE_WINDOW_DAYS} days)`;
  if (daysLeft < 1) return `less than a day (${(daysLeft * 24).toFixed(1)} h)`;
  return `${daysLeft.toFixed(1)} days`;
}

/** The rate window in words: `last 7 days`, or the pool's age when it is younger (`last 2.5 days`, `last 1.0 h`). */
export function formatWindow(windowDays: number): string {
  if (windowDays >= RATE_WINDOW_DAYS) return `last ${RATE_WINDOW_DAYS} days`;
  return windowDays >= 1 ? `last ${windowDays.toFixed(1)} days, since the first batch` : `last ${(windowDays * 24).toFixed(1)} h, since the first batch`;
}

/** Claims per day with one decimal. */
export function formatRate(claimsPerDay: number): string {
  return claimsPerDay.toFixed(1);
}

/** Round for JSON: one decimal, undefined stays undefined. */
export function round1(n: number | undefined): number | undefined {
  return n === undefined ? undefined : Math.round(n * 10) / 10;
}
