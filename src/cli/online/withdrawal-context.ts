import type { Command } from 'commander';
import { formatBtc } from '../../core/amount.js';
import { CodedError } from '../../core/errors.js';
import type { ReviewedWithdrawal, WithdrawalStore } from '../../core/ports.js';
import { DB_OPTION_HELP, configOf } from './config.js';
import { withDatabase } from './database.js';

/** Options of the withdrawal and audit commands (resolved by the one configuration, `configOf`). */
export interface OperatorOptions {
  db?: string;
  network?: string;
  operator?: string;
  policy?: string;
  json?: boolean;
}

/** Run `fn` with the withdrawal store of the configured database, pinned to the configured network; always closed. */
export function withStore<T>(cmd: Command, fn: (store: WithdrawalStore) => Promise<T>): Promise<T> {
  const config = configOf(cmd);
  return withDatabase(config.db, (db) => fn(db.withdrawals), { mustExist: true, network: config.network });
}

export function addDbOptions(cmd: Command): Command {
  return cmd
    .option('--db <url>', DB_OPTION_HELP)
    .option('--network <name>', 'network of the pool: mainnet, testnet, signet, regtest (default: COLDPOOL_NETWORK, config "network", then the pinned account\'s)');
}

export function addOperatorOptions(cmd: Command): Command {
  return addDbOptions(cmd)
    .option('--operator <name>', 'who decides (default: COLDPOOL_OPERATOR, config "operator", then the OS user)')
    .option('--policy <file>', 'withdrawal policy JSON (default: COLDPOOL_POLICY, config "policy", then <config dir>/policy.json)');
}

/** The JSON shape of a request (sats as strings). */
export function withdrawalJson(w: ReviewedWithdrawal): Record<string, unknown> {
  return {
    id: w.id, app_id: w.appId, user: w.user, destination: w.destination, output_type: w.outputType, amount_sat: w.amountSat, amount_btc: formatBtc(w.amountSat),
    status: w.status, created_at: w.createdAt, reviewer: w.reviewer ?? null, reason: w.reason ?? null, decided_at: w.decidedAt ?? null,
    approvals: w.approvals, flags: w.flags.map((f) => ({ code: f.code, detail: f.detail })),
  };
}

/** Parse a withdrawal id argument. */
export function parseId(text: string): bigint {
  if (!/^\d{1,19}$/.test(text) || BigInt(text) === 0n) throw new CodedError('USAGE', `"ID" expected a withdrawal id (a positive integer), got ${JSON.stringify(text)}`);
  return BigInt(text);
}
