import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { CodedError } from '../../core/errors.js';

/**
 * The signer's own record of what it signed: one JSON line per signed PSBT,
 * appended and fsynced before the signed file is committed. The rolling 24 h
 * cap is summed from it, so it is read strictly: a line that does not parse
 * is a refusal, never a line skipped (a skipped line would shrink the window).
 */

export const DAY_MS = 24 * 60 * 60 * 1000;

/** The sign log of a keystore when `--log` is not given: `<keystore>.sign-log.jsonl`, beside it. */
export function defaultSignLog(keystore: string): string {
  return `${keystore}.sign-log.jsonl`;
}

/** One JSON line, appended and fsynced: the signer's own record of what it signed. */
export function appendSignLog(path: string, entry: Record<string, unknown>): void {
  const line = `${JSON.stringify(entry, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o600);
  } catch (e) {
    throw new CodedError('USAGE', `sign log ${JSON.stringify(path)} cannot be opened for appending: ${(e as NodeJS.ErrnoException).code ?? 'error'}; nothing was written`, { cause: e });
  }
  try {
    const buf = Buffer.from(line);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface SignWindow {
  /** External satoshis signed in the 24 h before `now` (entries stamped later than `now` count too: a clock set back must not empty the window). */
  readonly signedSat: bigint;
  /** How many payouts those were. */
  readonly payouts: number;
  readonly log: string;
}

/**
 * What the log says was signed in the last 24 h. `allowMissing` (the operator's
 * `--new-log`) is the only way a log that does not exist counts as empty:
 * otherwise a log on another stick, a typo in `--log` or a deleted file
 * would quietly reset the window.
 */
export function readSignWindow(path: string, now: Date, allowMissing: boolean): SignWindow {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      if (allowMissing) return { signedSat: 0n, payouts: 0, log: path };
      throw new CodedError('REFUSED', `sign log ${JSON.stringify(path)} does not exist, and the 24 h cap (max_24h_sat) is summed from it; refusing rather than starting the window from zero`, {
        hint: 'point --log at the existing sign log; only for the very first payout of this keystore, pass --new-log',
      });
    }
    throw new CodedError('REFUSED', `sign log ${JSON.stringify(path)} cannot be read (${code ?? 'error'}), and the 24 h cap is summed from it`, { cause: e });
  }
  if (allowMissing) throw new CodedError('USAGE', `--new-log was given but the sign log ${JSON.stringify(path)} exists; drop --new-log`);
  const since = now.getTime() - DAY_MS;
  let signedSat = 0n;
  let payouts = 0;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, i) => {
    const corrupt = (why: string): CodedError => new CodedError('REFUSED', `sign log ${JSON.stringify(path)} line ${i + 1} is corrupt (${why}); the 24 h cap cannot be summed from it`, {
      hint: 'restore the log from its copy, or repair the line by hand after checking what was signed; nothing was signed',
    });
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      throw corrupt('not JSON');
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw corrupt('not an object');
    const { time, outputs } = entry as { time?: unknown; outputs?: unknown };
    const at = typeof time === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/.test(time) ? Date.parse(time) : NaN;
    if (Number.isNaN(at)) throw corrupt('"time" is not an ISO UTC time');
    if (!Array.isArray(outputs)) throw corrupt('"outputs" is not an array');
    let external = 0n;
    for (const o of outputs as unknown[]) {
      const { amount_sat: amount, kind } = (o ?? {}) as { amount_sat?: unknown; kind?: unknown };
      if (typeof amount !== 'string' || !/^\d{1,16}$/.test(amount) || (kind !== 'external' && kind !== 'change' && kind !== 'ours')) throw corrupt('an output without amount_sat and kind');
      if (kind === 'external') external += BigInt(amount);
    }
    if (at > since) {
      signedSat += external;
      payouts += 1;
    }
  });
  return { signedSat, payouts, log: path };
}
