/**
 * The payout steps through the real, built CLIs, for the end-to-end payout
 * tests: request and approve by two operators, build, sign offline against
 * the trust file (one sign log per desk, as a real signer keeps), broadcast,
 * status; and mining what the fake node's mempool holds.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeCliOperators } from './approvers.js';
import { runCli, type CliResult } from './cli.js';
import type { FakeNode } from './fake-node.js';
import { fixtureSigner } from './psbt-fixtures.js';

export function ok(r: CliResult): string {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

export function json<T = Record<string, unknown>>(r: CliResult): T {
  return JSON.parse(ok(r)) as T;
}

export interface StatusRow {
  id: string; status: string; abandon_kind: string | null; txid: string | null; unsigned_txid: string; fee_sat: string; confirmations: number;
  cancels: string | null; signed_at: string | null; conflict: string | null; advice: string | null;
  withdrawals: { id: string; status: string; paid_by_payout: string | null; amount_sat: string }[];
}

export interface PayoutDesk {
  readonly dir: string;
  readonly keystore: string;
  readonly passwordFile: string;
  readonly ops: Awaited<ReturnType<typeof writeCliOperators>>;
  readonly trustArgs: string[];
  /** The signer's log (created by the first signature). */
  readonly signLog: string;
}

const PASSWORD = 'correct horse battery';

/** A signer keystore, two operators (the trust file asks both) and a sign log, in `dir`. */
export async function payoutDesk(dir: string): Promise<PayoutDesk> {
  const { keystore, passwordFile } = await fixtureSigner(dir, PASSWORD);
  const ops = await writeCliOperators(dir, 'regtest', ['op1', 'op2'], 2);
  return { dir, keystore, passwordFile, ops, trustArgs: ['--trust', ops.trustFile], signLog: join(dir, 'sign.jsonl') };
}

/** Request each spec as the web host would, have op1 see them and both operators approve; the withdrawal ids. */
export async function requestAndApprove(desk: PayoutDesk, db: string, specs: readonly { app: string; address: string; sat: bigint }[]): Promise<string[]> {
  const ids: string[] = [];
  for (const s of specs) {
    ids.push(String(json(await runCli('coldpool', ['withdrawals', 'request', '--app-id', s.app, '--user', 'alice', '--address', s.address, '--amount-sat', String(s.sat), '--json', '--db', db])).id));
  }
  ok(await runCli('coldpool', ['withdrawals', 'list', '--db', db, '--operator', 'op1']));
  for (const op of ['op1', 'op2']) ok(await runCli('coldpool', ['withdrawals', 'approve', ...ids, '--db', db, ...desk.ops.operators[op]!.args]));
  return ids;
}

/** `coldpool-offline sign` with the manifest, the trust file and the desk's sign log. */
export function signCli(desk: PayoutDesk, psbt: string, manifest: string, outFile: string): Promise<CliResult> {
  return runCli('coldpool-offline', ['sign', psbt, '--keystore', desk.keystore, '--password-file', desk.passwordFile, '--manifest', manifest, '--out', outFile,
    '--log', desk.signLog, '--trust', desk.ops.trustFile, ...(existsSync(desk.signLog) ? [] : ['--new-log']), '--yes', '--json']);
}

/** `payout status --json` as op1. */
export async function payoutStatus(db: string): Promise<StatusRow[]> {
  return json<StatusRow[]>(await runCli('coldpool', ['payout', 'status', '--json', '--db', db, '--operator', 'op1']));
}

/** Mine what the node's mempool holds into its chain. */
export function mineMempool(node: FakeNode): void {
  node.chain.mine([...node.mempool.values()]);
  node.setChain(node.chain);
}
