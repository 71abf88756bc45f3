import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CodedError, show } from '../../core/errors.js';
import { DEFAULT_BATCH_COUNT, DEFAULT_KEYSTORE, DEFAULT_REPEAT_MS, DEFAULT_THRESHOLD } from '../../core/low-water.js';
import { parseNetwork, type NetworkName } from '../../core/network.js';
import { DEFAULT_POLICY, parsePolicy, type WithdrawalPolicy } from '../../core/withdrawal-policy.js';
import { TRUST_FILE_NAME, type Trust } from '../../core/trust.js';
import { readTrustFile } from '../../trust/trust-file.js';
import type { EmailChannelConfig } from '../../notify/email.js';
import type { WebhookChannelConfig } from '../../notify/webhook.js';
import { checkLinkTemplate } from '../../core/confirmation-token.js';
import { DEFAULT_VERIFIER_SETTINGS } from '../../verifier/settings.js';

/**
 * The one configuration of `coldpool`: one schema, read in one order
 * (flags, then environment, then the config file, then defaults) into one
 * deep-frozen object that every command reads through `configOf(cmd)`.
 *
 * The file is `--config F`, else `$XDG_CONFIG_HOME/coldpool/config.json`
 * (default `~/.config`). A key no command knows is refused with its path
 * (a typo must not silently fall back to a default); a key of another command
 * is accepted, so one file serves the operator's box, cron and the watcher:
 *
 * ```json
 * {
 *   "db": "mysql://coldpool_operator:secret@127.0.0.1:3306/coldpool",
 *   "network": "mainnet", "operator": "alice", "policy": "/etc/coldpool/policy.json",
 *   "node": "http://rpcuser:rpcpass@127.0.0.1:8332",
 *   "threshold": 1000, "warning": 2500, "repeat": "24h", "cron": "*\/5 * * * *",
 *   "keystore": "/media/usb/cold.keystore", "batchCount": 10000,
 *   "channels": {
 *     "email": { "host": "smtp.example.com", "port": 587, "requireTls": true, "user": "alerts",
 *                "passwordFile": "/etc/coldpool/smtp-password", "from": "coldpool@example.com", "to": ["ops@example.com"] },
 *     "webhook": { "url": "https://hooks.slack.com/services/T000/B000/XXXX" },
 *     "log": true
 *   }
 * }
 * ```
 *
 * Every value is checked when the command starts, whichever command it is
 * for. Two things are read only by the commands that use them: the policy
 * file (`policyOf`) and the alert channels with their secrets (`channelsOf`),
 * so `pool status` never reads an SMTP password. The cron expression is
 * checked by the two commands that schedule (`checkCron`), which keeps the
 * cron parser out of every other command's start-up.
 */
/** Where the pool lives when nothing says: a SQLite file in the current folder (`db migrate` creates it). */
export const DEFAULT_DB_URL = 'sqlite:./coldpool.db';
export const DEFAULT_CRON = '*/5 * * * *';
export const DB_OPTION_HELP = `database: sqlite:PATH or mysql://user:pass@host:port/db[?socket=PATH] (default: COLDPOOL_DB, config "db", then ${DEFAULT_DB_URL})`;
export const CONFIG_OPTION_HELP = 'config file (default $XDG_CONFIG_HOME/coldpool/config.json)';

const DEFAULT_CHANNEL_TIMEOUT_MS = 10_000;
const CHANNELS = ['email', 'webhook', 'log'] as const;
type ChannelName = (typeof CHANNELS)[number];
const TOP_KEYS = [
  'db', 'network', 'operator', 'policy', 'trust', 'key', 'passwordFile', 'node', 'rpcCookie', 'esplora',
  'threshold', 'warning', 'repeat', 'cron', 'keystore', 'batchCount', 'failuresBeforeAlert', 'channels', 'webDb', 'verifier',
] as const;
const VERIFIER_KEYS = ['confirmUrl', 'tokenTtl', 'hold', 'emailSync', 'addressCheck', 'maxWrongTokens', 'cron'] as const;
/** Where the verifier keeps its own database when nothing says (`coldpool verifier init` creates it). */
export const DEFAULT_VERIFIER_DB_URL = 'sqlite:./coldpool-verifier.db';
export const DEFAULT_VERIFIER_CRON = '* * * * *';
const EMAIL_KEYS = ['host', 'port', 'secure', 'requireTls', 'user', 'password', 'passwordFile', 'from', 'to', 'timeoutMs'] as const;
const WEBHOOK_KEYS = ['url', 'headers', 'timeoutMs'] as const;

type Json = Record<string, unknown>;

export interface NodeChoice {
  readonly node: string | undefined;
  readonly rpcCookie: string | undefined;
  readonly esplora: string | undefined;
}

export interface WatchSettings {
  readonly threshold: number;
  readonly warning: number | undefined;
  readonly repeatMs: number;
  readonly cron: string;
  readonly keystore: string;
  readonly batchCount: number;
  readonly failuresBeforeAlert: number;
}

/** The verifier's settings (`coldpool verifier run`); its own database is `db`, the web one `webDb`. */
export interface VerifierConfig {
  /** The web database, through the verifier's read-only account; required by `verifier run`. */
  readonly webDb: string | undefined;
  /** The link template mailed to users, with {id} and {token}; required by `verifier run`. */
  readonly confirmUrl: string | undefined;
  readonly tokenTtlMs: number;
  readonly holdMs: number;
  readonly emailSyncMs: number;
  /** How often every address row of the web database is compared with the verifier's record (default 10m). */
  readonly addressCheckMs: number;
  readonly maxWrongTokens: number;
  readonly cron: string;
}

export interface Config {
  /** The file read (for messages), or undefined when there was none. */
  readonly file: string | undefined;
  /** The config folder: the default home of config.json and policy.json. */
  readonly dir: string;
  readonly db: string;
  /** True when `db` is DEFAULT_DB_URL because nothing named one (the verifier then uses DEFAULT_VERIFIER_DB_URL). */
  readonly dbDefaulted: boolean;
  readonly verifier: VerifierConfig;
  /** The network the pool must be pinned to, when one was given. */
  readonly network: NetworkName | undefined;
  /** Who decides: the name written in the audit log. */
  readonly operator: string;
  /** The policy file, when one was given or `<dir>/policy.json` exists. */
  readonly policyFile: string | undefined;
  /** The operator box's trust file, when one was given or `<dir>/coldpool-trust.json` exists. */
  readonly trustFile: string | undefined;
  /** The operator's own key file (its password never comes from here: the terminal or --password-file). */
  readonly keyFile: string | undefined;
  /**
   * A file whose first line is the key's password (`--password-file`, config
   * "passwordFile"), for a box that signs unattended; never the password
   * itself, never from the environment.
   */
  readonly passwordFile: string | undefined;
  readonly node: NodeChoice;
  readonly watch: WatchSettings;
  /** The file's "channels" as written, its keys checked; `channelsOf` parses them. */
  readonly channels: Readonly<Json>;
}

/** What the command line gave, strings as typed (commander's option names). */
export interface ConfigFlags {
  readonly config?: string;
  readonly db?: string;
  readonly network?: string;
  readonly operator?: string;
  readonly policy?: string;
  readonly trust?: string;
  readonly key?: string;
  readonly passwordFile?: string;
  readonly node?: string;
  readonly rpcCookie?: string;
  readonly esplora?: string;
  readonly threshold?: string;
  readonly warn?: string;
  readonly repeat?: string;
  readonly cron?: string;
  readonly keystore?: string;
  readonly webDb?: string;
  readonly confirmUrl?: string;
  readonly tokenTtl?: string;
  readonly hold?: string;
  readonly emailSync?: string;
  readonly addressCheck?: string;
}

/** Where a value came from; decides the exit code and the message of a bad one. */
type Source = 'flag' | 'env' | { file: string };

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'coldpool');
}

function fileError(file: string, message: string, hint?: string): CodedError {
  return new CodedError('INVALID_INPUT', `config ${file}: ${message}`, { hint: hint ?? 'see "coldpool watch --help" for the config file format' });
}

/** A bad value: exit 2 for a flag (the command line is wrong), 3 for the environment or the file. */
function badValue(source: Source, message: string, flagName?: string): CodedError {
  if (source === 'flag') return new CodedError('USAGE', flagName ? message.replace(/^"[^"]+"/, `"${flagName}"`) : message);
  if (source === 'env') return new CodedError('INVALID_INPUT', `environment: ${message}`);
  return fileError(source.file, message);
}

function readConfigFile(flag: string | undefined, env: NodeJS.ProcessEnv): { file: string | undefined; json: Json } {
  const file = flag ?? join(configDir(env), 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT' && flag === undefined) return { file: undefined, json: {} };
    throw new CodedError('NOT_FOUND', `config file ${file} cannot be read: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw fileError(file, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fileError(file, 'expected a JSON object');
  return { file, json: json as Json };
}

function checkKeys(where: string, obj: Json, allowed: readonly string[], file: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw fileError(file, `unknown key ${show(`${where}${key}`)}; expected one of ${allowed.join(', ')}`);
  }
}

/** An integer, strictly: no `1e3`, no `12abc`. */
function integer(name: string, value: unknown, min: number, source: Source): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : undefined;
  const n = text !== undefined && /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw badValue(source, `"${name}" expected an integer >= ${min}, got ${show(value)}`);
  return n;
}

/**
 * A duration: `90s`, `15m`, `24h`, `1d`, or a bare number of seconds.
 *
 * @example parseDuration('repeat', '24h', 'flag') // 86400000
 */
export function parseDuration(name: string, value: unknown, source: Source): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const m = /^(\d+)(s|m|h|d)?$/.exec(text);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m?.[2] ?? 's') as 's'];
  const ms = m ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(ms) || ms < 1_000) {
    throw badValue(source, `"${name}" expected a duration like 90s, 15m, 24h or 1d (at least 1s), got ${show(value)}`);
  }
  return ms;
}

function text(name: string, value: unknown, source: Source, what = 'a non-empty string'): string {
  if (typeof value !== 'string' || value.trim() === '') throw badValue(source, `"${name}" expected ${what}, got ${show(value)}`);
  return value;
}

function operatorName(value: unknown, source: Source): string {
  if (typeof value !== 'string' || !/^[^\p{Cc}]{1,190}$/u.test(value) || value.trim() !== value) {
    throw badValue(source, `"operator" expected a name of 1..190 printable characters, got ${JSON.stringify(value)}`, '--operator');
  }
  return value;
}

function networkName(value: unknown, source: Source): NetworkName {
  try {
    return parseNetwork(value).name;
  } catch (e) {
    throw badValue(source, (e as Error).message, '--network');
  }
}

/**
 * The whole configuration, checked. `flags` are the command line's strings;
 * `env` is the environment (tests pass their own).
 */
export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const { file, json } = readConfigFile(flags.config, env);
  const f = file ?? '(none)';
  const inFile: Source = { file: f };
  checkKeys('', json, TOP_KEYS, f);
  /** One value: the flag, else the environment, else `section[key]` of the file (the top level by default), else the fallback. */
  const pick = <T>(flag: string | undefined, envName: string, key: string, parse: (v: unknown, source: Source) => T, fallback: () => T, section: Json = json): T => {
    if (flag !== undefined) return parse(flag, 'flag');
    const e = env[envName];
    if (e !== undefined && e !== '') return parse(e, 'env');
    if (section[key] !== undefined) return parse(section[key], inFile);
    return fallback();
  };

  let dbDefaulted = false;
  const db = pick(flags.db, 'COLDPOOL_DB', 'db', (v, s) => text('db', v, s, 'a database URL such as sqlite:/var/lib/coldpool/pool.db'), () => ((dbDefaulted = true), DEFAULT_DB_URL));
  const network = pick<NetworkName | undefined>(flags.network, 'COLDPOOL_NETWORK', 'network', networkName, () => undefined);
  const operator = pick(flags.operator, 'COLDPOOL_OPERATOR', 'operator', operatorName, () => operatorName(userInfo().username, 'env'));
  const dir = configDir(env);
  const policyFile = pick<string | undefined>(flags.policy, 'COLDPOOL_POLICY', 'policy', (v, s) => text('policy', v, s, 'a policy file path'), () => {
    const fallback = join(dir, 'policy.json');
    return existsSync(fallback) ? fallback : undefined;
  });
  const trustFile = pick<string | undefined>(flags.trust, 'COLDPOOL_TRUST', 'trust', (v, s) => text('trust', v, s, 'a trust file path'), () => {
    const fallback = join(dir, TRUST_FILE_NAME);
    return existsSync(fallback) ? fallback : undefined;
  });
  const keyFile = pick<string | undefined>(flags.key, 'COLDPOOL_KEY', 'key', (v, s) => text('key', v, s, 'an operator key file path'), () => undefined);
  const passwordFile = flags.passwordFile !== undefined ? text('passwordFile', flags.passwordFile, 'flag', 'a file path')
    : json.passwordFile === undefined ? undefined : text('passwordFile', json.passwordFile, inFile, 'the path of a file holding the key\'s password');

  // The node is one choice: a flag for any kind of node overrides the whole
  // environment, and the environment the whole file (a --esplora flag must not
  // meet a COLDPOOL_NODE and be refused as "both").
  const nodeFrom = (source: Source, values: Partial<Record<keyof NodeChoice, unknown>>): NodeChoice => Object.freeze({
    node: values.node === undefined ? undefined : text('node', values.node, source, 'a Bitcoin Core RPC URL'),
    rpcCookie: values.rpcCookie === undefined ? undefined : text('rpcCookie', values.rpcCookie, source, "a path to Core's .cookie file"),
    esplora: values.esplora === undefined ? undefined : text('esplora', values.esplora, source, 'an Esplora REST URL'),
  });
  const node = flags.node !== undefined || flags.rpcCookie !== undefined || flags.esplora !== undefined
    ? nodeFrom('flag', flags)
    : env.COLDPOOL_NODE || env.COLDPOOL_RPC_COOKIE || env.COLDPOOL_ESPLORA
      ? nodeFrom('env', { node: env.COLDPOOL_NODE || undefined, rpcCookie: env.COLDPOOL_RPC_COOKIE || undefined, esplora: env.COLDPOOL_ESPLORA || undefined })
      : nodeFrom(inFile, { node: json.node, rpcCookie: json.rpcCookie, esplora: json.esplora });

  const threshold = pick(flags.threshold, 'COLDPOOL_WATCH_THRESHOLD', 'threshold', (v, s) => integer('threshold', v, 1, s), () => DEFAULT_THRESHOLD);
  const warning = pick<number | undefined>(flags.warn, 'COLDPOOL_WATCH_WARNING', 'warning', (v, s) => integer('warning', v, 1, s), () => undefined);
  if (warning !== undefined && warning <= threshold) {
    throw new CodedError('USAGE', `"warning" expected a count above the threshold ${threshold}, got ${warning}`, { hint: 'the warning level is the earlier alert: --warn 2500 --threshold 1000' });
  }
  const watch: WatchSettings = Object.freeze({
    threshold,
    warning,
    repeatMs: pick(flags.repeat, 'COLDPOOL_WATCH_REPEAT', 'repeat', (v, s) => parseDuration('repeat', v, s), () => DEFAULT_REPEAT_MS),
    cron: pick(flags.cron, 'COLDPOOL_WATCH_CRON', 'cron', (v, s) => text('cron', v, s, 'a cron expression like "*/5 * * * *"'), () => DEFAULT_CRON),
    keystore: pick(flags.keystore, 'COLDPOOL_KEYSTORE', 'keystore', (v, s) => text('keystore', v, s, 'a path on the signer'), () => DEFAULT_KEYSTORE),
    batchCount: json.batchCount === undefined ? DEFAULT_BATCH_COUNT : integer('batchCount', json.batchCount, 1, inFile),
    failuresBeforeAlert: json.failuresBeforeAlert === undefined ? 3 : integer('failuresBeforeAlert', json.failuresBeforeAlert, 1, inFile),
  });

  const vj = json.verifier ?? {};
  if (!isObject(vj)) throw fileError(f, '"verifier" expected an object with keys ' + VERIFIER_KEYS.join(', '));
  checkKeys('verifier.', vj, VERIFIER_KEYS, f);
  const vpick = <T>(flag: string | undefined, envName: string, key: string, parse: (v: unknown, source: Source) => T, fallback: () => T): T => pick(flag, envName, key, parse, fallback, vj);
  const verifier: VerifierConfig = Object.freeze({
    webDb: pick<string | undefined>(flags.webDb, 'COLDPOOL_WEB_DB', 'webDb', (v, s) => text('webDb', v, s, 'the web database URL (the verifier\'s read-only account)'), () => undefined),
    confirmUrl: vpick<string | undefined>(flags.confirmUrl, 'COLDPOOL_CONFIRM_URL', 'confirmUrl', (v, s) => {
      try {
        return checkLinkTemplate(v, 'confirmUrl');
      } catch (e) {
        throw badValue(s, (e as Error).message, '--confirm-url');
      }
    }, () => undefined),
    tokenTtlMs: vpick(flags.tokenTtl, 'COLDPOOL_TOKEN_TTL', 'tokenTtl', (v, s) => parseDuration('tokenTtl', v, s), () => DEFAULT_VERIFIER_SETTINGS.tokenTtlMs),
    holdMs: vpick(flags.hold, 'COLDPOOL_HOLD', 'hold', (v, s) => parseDuration('hold', v, s), () => DEFAULT_VERIFIER_SETTINGS.holdMs),
    emailSyncMs: vpick(flags.emailSync, 'COLDPOOL_EMAIL_SYNC', 'emailSync', (v, s) => parseDuration('emailSync', v, s), () => DEFAULT_VERIFIER_SETTINGS.emailSyncEveryMs),
    addressCheckMs: vpick(flags.addressCheck, 'COLDPOOL_ADDRESS_CHECK', 'addressCheck', (v, s) => parseDuration('addressCheck', v, s), () => DEFAULT_VERIFIER_SETTINGS.addressCheckEveryMs),
    maxWrongTokens: vj.maxWrongTokens === undefined ? DEFAULT_VERIFIER_SETTINGS.maxWrongTokens : integer('verifier.maxWrongTokens', vj.maxWrongTokens, 1, inFile),
    cron: vj.cron === undefined ? DEFAULT_VERIFIER_CRON : text('verifier.cron', vj.cron, inFile, 'a cron expression like "* * * * *"'),
  });

  const channels = json.channels ?? {};
  if (typeof channels !== 'object' || channels === null || Array.isArray(channels)) throw fileError(f, '"channels" expected an object with keys email, webhook, log');
  for (const name of Object.keys(channels)) {
    if (!(CHANNELS as readonly string[]).includes(name)) throw fileError(f, `unknown channel ${show(name)}; expected one of ${CHANNELS.join(', ')}`);
  }
  const ch = channels as Json;
  if (isObject(ch.email)) checkKeys('channels.email.', ch.email, EMAIL_KEYS, f);
  if (isObject(ch.webhook)) checkKeys('channels.webhook.', ch.webhook, WEBHOOK_KEYS, f);

  return deepFreeze({ file, dir, db, dbDefaulted, verifier, network, operator, policyFile, trustFile, keyFile, passwordFile, node, watch, channels: structuredClone(ch) });
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The withdrawal policy the configuration names, read now: the default (no limits, 1 approval) when it names none. */
export function policyOf(config: Config): { policy: WithdrawalPolicy; source: string } {
  const path = config.policyFile;
  if (path === undefined) return { policy: DEFAULT_POLICY, source: 'default (no limits, 1 approval)' };
  let body: string;
  try {
    body = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CodedError('NOT_FOUND', `policy file ${path} cannot be read: ${(e as Error).message}`, { cause: e });
  }
  return { policy: parsePolicy(body, path), source: path };
}

/** The trust file the configuration names, read and checked now; USAGE when it names none. */
export function trustOf(config: Config): { trust: Trust; source: string } {
  const path = config.trustFile;
  if (path === undefined) {
    throw new CodedError('USAGE', 'no trust file: approvals are checked against the operator box\'s trust file', {
      hint: `give --trust FILE (or COLDPOOL_TRUST, config "trust", or ${join(config.dir, TRUST_FILE_NAME)}); create it with \`coldpool trust add-operator\``,
    });
  }
  return { trust: readTrustFile(path), source: path };
}

/** A cron expression node-cron accepts (5 fields, or 6 with seconds first); only the scheduling commands load the parser. */
export async function checkCron(config: Config, flagGiven: boolean, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { default: cron } = await import('node-cron');
  const expr = config.watch.cron;
  const v = cron.validateDetailed(expr);
  if (!v.valid) {
    const why = v.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    const source: Source = flagGiven ? 'flag' : env.COLDPOOL_WATCH_CRON ? 'env' : { file: config.file ?? '(none)' };
    throw badValue(source, `"cron" expected a cron expression like "*/5 * * * *" (minute hour day month weekday, optional seconds first), got ${show(expr)}${why ? ` (${why})` : ''}`);
  }
  return expr;
}

export interface AlertChannels {
  readonly email: EmailChannelConfig | undefined;
  readonly webhook: WebhookChannelConfig | undefined;
  readonly log: boolean;
}

/** The alert channels the watcher sends on, with their secrets (a `passwordFile` is read here). */
export function channelsOf(config: Config, env: NodeJS.ProcessEnv = process.env): AlertChannels {
  const f = config.file ?? '(none)';
  const channels = config.channels;
  const envList = env.COLDPOOL_WATCH_CHANNELS;
  const enabled = new Set<ChannelName>();
  if (envList) {
    for (const name of envList.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!(CHANNELS as readonly string[]).includes(name)) {
        throw new CodedError('INVALID_INPUT', `environment: COLDPOOL_WATCH_CHANNELS: unknown channel ${show(name)}; expected one of ${CHANNELS.join(', ')}`);
      }
      enabled.add(name as ChannelName);
    }
  } else {
    for (const name of CHANNELS) if (channels[name] !== undefined && channels[name] !== false) enabled.add(name);
    if (env.COLDPOOL_WEBHOOK_URL) enabled.add('webhook');
    if (env.COLDPOOL_SMTP_HOST) enabled.add('email');
    if (channels.log === undefined) enabled.add('log');
  }
  if (channels.log !== undefined && typeof channels.log !== 'boolean') throw fileError(f, '"channels.log" expected true or false');
  return Object.freeze({
    email: enabled.has('email') ? parseEmail(channels.email ?? {}, f, env) : undefined,
    webhook: enabled.has('webhook') ? parseWebhook(channels.webhook ?? {}, f, env) : undefined,
    log: enabled.has('log'),
  });
}

function str(obj: Json, key: string, where: string, file: string, required: boolean): string | undefined {
  const v = obj[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw fileError(file, `"${where}${key}" expected a non-empty string, got ${show(v)}`);
  return v;
}

function bool(obj: Json, key: string, where: string, file: string): boolean | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw fileError(file, `"${where}${key}" expected true or false, got ${show(v)}`);
  return v;
}

function parseEmail(raw: unknown, file: string, env: NodeJS.ProcessEnv): EmailChannelConfig {
  if (!isObject(raw)) throw fileError(file, '"channels.email" expected an object');
  const o = raw;
  const inFile: Source = { file };
  const host = env.COLDPOOL_SMTP_HOST || str(o, 'host', 'channels.email.', file, true)!;
  const secure = bool(o, 'secure', 'channels.email.', file) ?? false;
  const port = env.COLDPOOL_SMTP_PORT ? integer('COLDPOOL_SMTP_PORT', env.COLDPOOL_SMTP_PORT, 1, 'env') : o.port === undefined ? (secure ? 465 : 587) : integer('channels.email.port', o.port, 1, inFile);
  if (port > 65535) throw fileError(file, `"channels.email.port" expected 1..65535, got ${port}`);
  let password = str(o, 'password', 'channels.email.', file, false);
  const passwordFile = str(o, 'passwordFile', 'channels.email.', file, false);
  if (password !== undefined && passwordFile !== undefined) throw fileError(file, 'give "channels.email.password" or "passwordFile", not both');
  if (passwordFile !== undefined) {
    try {
      password = readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw fileError(file, `"channels.email.passwordFile" ${passwordFile} cannot be read: ${(e as Error).message}`);
    }
  }
  const toRaw = env.COLDPOOL_ALERT_EMAIL_TO ? env.COLDPOOL_ALERT_EMAIL_TO.split(',') : o.to;
  const to = typeof toRaw === 'string' ? [toRaw] : toRaw;
  if (!Array.isArray(to) || to.length === 0 || !to.every((t) => typeof t === 'string' && /^[^@\s]+@[^@\s]+$/.test(t.trim()))) {
    throw fileError(file, `"channels.email.to" expected one or more e-mail addresses, got ${show(JSON.stringify(to))}`);
  }
  const from = env.COLDPOOL_ALERT_EMAIL_FROM || str(o, 'from', 'channels.email.', file, true)!;
  return {
    host,
    port,
    secure,
    requireTls: bool(o, 'requireTls', 'channels.email.', file) ?? false,
    user: str(o, 'user', 'channels.email.', file, false),
    password,
    from,
    to: (to as string[]).map((t) => t.trim()),
    timeoutMs: o.timeoutMs === undefined ? DEFAULT_CHANNEL_TIMEOUT_MS : integer('channels.email.timeoutMs', o.timeoutMs, 100, inFile),
  };
}

function parseWebhook(raw: unknown, file: string, env: NodeJS.ProcessEnv): WebhookChannelConfig {
  if (!isObject(raw)) throw fileError(file, '"channels.webhook" expected an object');
  const o = raw;
  const url = env.COLDPOOL_WEBHOOK_URL || str(o, 'url', 'channels.webhook.', file, true)!;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw fileError(file, `"channels.webhook.url" expected an http(s) URL, got ${show(parsed ? `${parsed.protocol}//…` : 'something else')}`);
  }
  const headers = o.headers ?? {};
  if (!isObject(headers) || !Object.values(headers).every((v) => typeof v === 'string')) {
    throw fileError(file, '"channels.webhook.headers" expected an object of strings');
  }
  return {
    url,
    headers: headers as Record<string, string>,
    timeoutMs: o.timeoutMs === undefined ? DEFAULT_CHANNEL_TIMEOUT_MS : integer('channels.webhook.timeoutMs', o.timeoutMs, 100, { file }),
  };
}

const loaded = new WeakMap<Command, Config>();

/**
 * The configuration of the command being run: its flags (and `--db` /
 * `--config` given before the command's name), the environment and the
 * file. Read once per command.
 */
export function configOf(cmd: Command): Config {
  let config = loaded.get(cmd);
  if (config === undefined) {
    const o = cmd.optsWithGlobals() as Record<string, unknown>;
    const s = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
    config = loadConfig({
      config: s('config'), db: s('db'), network: s('network'), operator: s('operator'), policy: s('policy'), trust: s('trust'), key: s('key'), passwordFile: s('passwordFile'),
      node: s('node'), rpcCookie: s('rpcCookie'), esplora: s('esplora'),
      threshold: s('threshold'), warn: s('warn'), repeat: s('repeat'), cron: s('cron'), keystore: s('keystore'),
      webDb: s('webDb'), confirmUrl: s('confirmUrl'), tokenTtl: s('tokenTtl'), hold: s('hold'), emailSync: s('emailSync'), addressCheck: s('addressCheck'),
    });
    loaded.set(cmd, config);
  }
  return config;
}

/** The options every command takes before or after its name, with values (main.ts skips them when it looks for the command's words). */
export const GLOBAL_VALUE_OPTIONS: readonly string[] = ['--db', '--config'];

/**
 * `--db URL` and `--config F` as global options of `coldpool`. Commander
 * gives a global option's value to the program, not to a subcommand that
 * declares the option itself; the hook copies it down so either place works.
 */
export function addGlobalOptions(program: Command): void {
  program.option('--db <url>', DB_OPTION_HELP);
  program.option('--config <file>', CONFIG_OPTION_HELP);
  program.hook('preAction', (root, action) => {
    for (const name of ['db', 'config']) {
      const value = root.getOptionValue(name) as string | undefined;
      if (value !== undefined && action !== root && action.options.some((o) => o.attributeName() === name) && action.getOptionValue(name) === undefined) {
        action.setOptionValueWithSource(name, value, 'cli');
      }
    }
    // Every command checks the whole configuration before it does anything,
    // so a bad file is the same error whichever command meets it first.
    configOf(action);
  });
}
