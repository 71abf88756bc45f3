import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatBtc } from '../../core/amount.js';
import { CodedError } from '../../core/errors.js';
import { parseNetwork } from '../../core/network.js';
import { DEFAULT_POLICY, parsePolicy, type WithdrawalPolicy } from '../../core/withdrawal-policy.js';
import type { ReviewedWithdrawal, WithdrawalStore } from '../../core/ports.js';
import { resolveDbUrl } from '../../store/db-url.js';
import { withDatabase } from './database.js';

/**
 * What the withdrawal and audit commands share: the database, the network,
 * the operator's name and the policy file. Flags, then environment, then
 * `$XDG_CONFIG_HOME/coldpool/` (config.json, policy.json), then defaults.
 */
export interface OperatorOptions {
  db?: string;
  network?: string;
  operator?: string;
  policy?: string;
  json?: boolean;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'coldpool');
}

function readConfig(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const path = join(configDir(env), 'config.json');
  if (!existsSync(path)) return {};
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch (e) {
    throw new CodedError('INVALID_INPUT', `${path}: invalid JSON (${(e as Error).message})`, { cause: e });
  }
}

/** `--operator`, then COLDPOOL_OPERATOR, then config.json's "operator", then the OS user. */
export function resolveOperator(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const cfg = readConfig(env).operator;
  const name = flag ?? (env.COLDPOOL_OPERATOR || (typeof cfg === 'string' ? cfg : undefined) || userInfo().username);
  if (!/^[^\p{Cc}]{1,190}$/u.test(name) || name.trim() !== name) throw new CodedError('USAGE', `"--operator" expected a name of 1..190 printable characters, got ${JSON.stringify(name)}`);
  return name;
}

/** `--policy F`, then COLDPOOL_POLICY, then config.json's "policy", then `<config dir>/policy.json` if present, else the default (no limits, 1 approval). */
export function resolvePolicy(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): { policy: WithdrawalPolicy; source: string } {
  const cfg = readConfig(env).policy;
  const fallback = join(configDir(env), 'policy.json');
  const path = flag ?? (env.COLDPOOL_POLICY || (typeof cfg === 'string' ? cfg : undefined) || (existsSync(fallback) ? fallback : undefined));
  if (path === undefined) return { policy: DEFAULT_POLICY, source: 'default (no limits, 1 approval)' };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CodedError('NOT_FOUND', `policy file ${path} cannot be read: ${(e as Error).message}`, { cause: e });
  }
  return { policy: parsePolicy(text, path), source: path };
}

/** Run `fn` with the withdrawal store of the command's database, always closed. */
export function withStore<T>(opts: OperatorOptions, fn: (store: WithdrawalStore) => Promise<T>): Promise<T> {
  const network = opts.network ? parseNetwork(opts.network).name : undefined;
  return withDatabase(resolveDbUrl(opts.db), (db) => fn(db.withdrawals), { mustExist: true, network });
}

export function addDbOptions(cmd: Command): Command {
  return cmd
    .option('--db <url>', 'database: sqlite:PATH or mysql://user:pass@host:port/db (default: COLDPOOL_DB, then sqlite:./coldpool.db)')
    .option('--network <name>', 'network of the pool: mainnet, testnet, signet, regtest (default: the pinned account\'s)');
}

export function addOperatorOptions(cmd: Command): Command {
  return addDbOptions(cmd)
    .option('--operator <name>', 'who decides (default: COLDPOOL_OPERATOR, config.json "operator", then the OS user)')
    .option('--policy <file>', 'withdrawal policy JSON (default: COLDPOOL_POLICY, config.json "policy", then <config dir>/policy.json)');
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
