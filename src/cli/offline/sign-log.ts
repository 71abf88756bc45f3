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

/** What the signer needs to remember of one signed payout. */
export interface SignedPayout {
  readonly time: number;
  readonly unsignedTxid: string;
  readonly externalSat: bigint;
  /** `txid:vout` of every input; empty for lines written before inputs were logged. */
  readonly inputs: readonly string[];
  /** `id:fingerprint` of every approval the payout paid. */
  readonly approvals: readonly string[];
}

export interface SignHistory {
  readonly log: string;
  readonly payouts: readonly SignedPayout[];
}

export interface SignWindow {
  /** External satoshis signed in the 24 h before `now` (entries stamped later than `now` count too: a clock set back must not empty the window). */
  readonly signedSat: bigint;
  /** How many payouts those were. */
  readonly payouts: number;
  readonly log: string;
}

/** The key an approval is remembered by: the signed id and first-sight fingerprint (a reused id after a database reset is another request). */
export function approvalKey(withdrawalId: bigint | string, fingerprint: string): string {
  return `${withdrawalId}:${fingerprint}`;
}

/**
 * Everything the log says was signed. `allowMissing` (the operator's
 * `--new-log`) is the only way a log that does not exist counts as empty:
 * otherwise a log on another stick, a typo in `--log` or a deleted file
 * would quietly reset the 24 h window and the memory of approvals paid.
 * `why` says in messages what the log is needed for.
 */
export function readSignHistory(path: string, allowMissing: boolean, why: string): SignHistory {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      if (allowMissing) return { log: path, payouts: [] };
      throw new CodedError('REFUSED', `sign log ${JSON.stringify(path)} does not exist, and ${why}; refusing rather than starting from an empty log`, {
        hint: 'point --log at the existing sign log; only for the very first payout of this keystore, pass --new-log',
      });
    }
    throw new CodedError('REFUSED', `sign log ${JSON.stringify(path)} cannot be read (${code ?? 'error'}), and ${why}`, { cause: e });
  }
  if (allowMissing) throw new CodedError('USAGE', `--new-log was given but the sign log ${JSON.stringify(path)} exists; drop --new-log`);
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const payouts = lines.map((line, i): SignedPayout => {
    const corrupt = (what: string): CodedError => new CodedError('REFUSED', `sign log ${JSON.stringify(path)} line ${i + 1} is corrupt (${what}), and ${why}`, {
      hint: 'restore the log from its copy, or repair the line by hand after checking what was signed; nothing was signed',
    });
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      throw corrupt('not JSON');
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw corrupt('not an object');
    const { time, outputs, inputs, unsigned_txid: txid } = entry as { time?: unknown; outputs?: unknown; inputs?: unknown; unsigned_txid?: unknown };
    const at = typeof time === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/.test(time) ? Date.parse(time) : NaN;
    if (Number.isNaN(at)) throw corrupt('"time" is not an ISO UTC time');
    if (!Array.isArray(outputs)) throw corrupt('"outputs" is not an array');
    if (inputs !== undefined && (!Array.isArray(inputs) || !inputs.every((x) => typeof x === 'string' && /^[0-9a-f]{64}:\d{1,10}$/.test(x)))) throw corrupt('"inputs" is not a list of txid:vout');
    let externalSat = 0n;
    const approvals: string[] = [];
    for (const o of outputs as unknown[]) {
      const { amount_sat: amount, kind, approval_id: id, approval_fingerprint: fp } = (o ?? {}) as Record<string, unknown>;
      if (typeof amount !== 'string' || !/^\d{1,16}$/.test(amount) || (kind !== 'external' && kind !== 'change' && kind !== 'ours')) throw corrupt('an output without amount_sat and kind');
      if (kind === 'external') externalSat += BigInt(amount);
      if (id !== undefined || fp !== undefined) {
        if (typeof id !== 'string' || !/^[1-9]\d{0,18}$/.test(id) || typeof fp !== 'string' || !/^[0-9a-f]{64}$/.test(fp)) throw corrupt('an approval_id without its approval_fingerprint');
        approvals.push(approvalKey(id, fp));
      }
    }
    return { time: at, unsignedTxid: typeof txid === 'string' ? txid : '?', externalSat, inputs: (inputs as string[] | undefined) ?? [], approvals };
  });
  return { log: path, payouts };
}

/** What was signed in the 24 h before `now`. */
export function windowOf(history: SignHistory, now: Date): SignWindow {
  const since = now.getTime() - DAY_MS;
  const recent = history.payouts.filter((p) => p.time > since);
  return { signedSat: recent.reduce((s, p) => s + p.externalSat, 0n), payouts: recent.length, log: history.log };
}

/**
 * The earlier payouts that paid approval `key` and that a transaction
 * spending `inputs` does not conflict with. Signing a replacement (RBF: it
 * spends an input of each earlier one, so at most one of them confirms) is
 * fine, and so is spending an output of a logged transaction that spends one
 * (a cancel's change); signing the same approval into a payout that could
 * confirm beside an earlier one is paying it twice.
 */
export function paidElsewhere(history: SignHistory, key: string, inputs: readonly string[]): SignedPayout[] {
  const spending = new Set(inputs);
  const parents = new Set(inputs.map((i) => i.slice(0, 64)));
  // A payout spending an output of a logged transaction q that spends an input of p (a cancel of p: its change)
  // is valid only if q confirms, and then p never can: it conflicts with p as surely as sharing an input.
  const viaChild = (p: SignedPayout): boolean =>
    history.payouts.some((q) => q !== p && parents.has(q.unsignedTxid) && q.inputs.some((i) => p.inputs.includes(i)));
  return history.payouts.filter((p) => p.approvals.includes(key) && !p.inputs.some((i) => spending.has(i)) && !viaChild(p));
}
