import type { Command } from 'commander';
import type { AuditSigner, ChainSource, Database } from '../../core/ports.js';
import { formatManifest } from '../../core/payout-manifest.js';
import { parseSatPerVb } from '../../core/signer-policy.js';
import type { BuiltRecord } from '../../flows/payout.js';
import { openAtomicFile } from '../../io/atomic-file.js';
import { configOf } from './config.js';
import { withDatabase } from './database.js';
import { sourceOf } from './options.js';

/**
 * What the payout commands share (payout.ts: build, broadcast, status, bump;
 * payout-abandon.ts: abandon, cancel, record-signed): the keyed database, the
 * node, the PSBT and manifest files and their JSON, the lazily loaded flows.
 */

/** The configured database, its audit entries signed by the command's key when one was given. */
export function withKeyedDatabase<T>(cmd: Command, keyed: { signer: AuditSigner } | undefined, fn: (db: Database) => Promise<T>): Promise<T> {
  return withDatabase(configOf(cmd).db, fn, { mustExist: true, auditSigner: keyed?.signer });
}

/**
 * The payout flows and PSBT parsing pull in bitcoinjs-lib (a sixth of the
 * CLI's start-up); they load when a payout command runs, not on every start.
 */
export const payoutFlows = (): Promise<typeof import('../../flows/payout.js')> => import('../../flows/payout.js');

export interface Common { db?: string; operator?: string; json?: boolean; node?: string; rpcCookie?: string; esplora?: string; timeout?: string; retries?: string }

export async function withSource<T>(cmd: Command, opts: Common, fn: (source: ChainSource) => Promise<T>): Promise<T> {
  const source = sourceOf(configOf(cmd), opts);
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}

/** `F.psbt` → `F.manifest.json`. */
export function manifestPath(psbtPath: string): string {
  return `${psbtPath.replace(/\.psbt$/i, '')}.manifest.json`;
}

export function writeFiles(path: string, rec: BuiltRecord, force: boolean): { psbt: string; manifest: string } {
  const manifest = manifestPath(path);
  const m = openAtomicFile(manifest, { overwrite: force });
  m.write(formatManifest(rec.manifest));
  const p = openAtomicFile(path, { overwrite: force });
  p.write(`${rec.built.psbt.toBase64()}\n`);
  m.commit();
  p.commit();
  return { psbt: path, manifest };
}

export function builtJson(rec: BuiltRecord, files: { psbt: string; manifest: string }): Record<string, unknown> {
  const b = rec.built;
  return {
    id: rec.id, unsigned_txid: b.unsignedTxid, psbt: files.psbt, manifest: files.manifest, inputs: b.inputs.length, input_total_sat: b.inputTotalSat,
    outputs: b.outputs.map((o) => ({ withdrawal_id: o.withdrawalId, address: o.address, amount_sat: o.amountSat })),
    change: b.change ? { address: b.change.address, amount_sat: b.change.amountSat, path: b.change.path } : null,
    fee_sat: b.feeSat, vsize: b.vsize, fee_rate_sat_kvb: b.feeRateSatKvb, selection: b.selection,
  };
}

export function feeRateOption(text: string | undefined): bigint | undefined {
  return text === undefined ? undefined : parseSatPerVb(text, '--fee-rate', 'the command line');
}

