import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import cron from 'node-cron';
import { CodedError, show } from '../../core/errors.js';
import { DEFAULT_BATCH_COUNT, DEFAULT_KEYSTORE, DEFAULT_THRESHOLD } from '../../core/low-water.js';
import { DEFAULT_REPEAT_MS } from '../../flows/watch.js';
import type { EmailChannelConfig } from '../../notify/email.js';
import type { WebhookChannelConfig } from '../../notify/webhook.js';

/**
 * The watcher's configuration: flags, then env, then the config file
 * (`--config F`, else `$XDG_CONFIG_HOME/coldpool/config.json`), then defaults,
 * parsed once into a frozen object. Every mistake is found here, at startup:
 * an unknown key or channel, a malformed cron expression, a threshold that is
 * not an integer. SMTP and webhook secrets come from the file (or a
 * `passwordFile`), never from flags.
 *
 * ```json
 * {
 *   "db": "mysql://coldpool_watch:secret@127.0.0.1:3306/coldpool",
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
 */
export const DEFAULT_CRON = '*/5 * * * *';
const DEFAULT_CHANNEL_TIMEOUT_MS = 10_000;
const CHANNELS = ['email', 'webhook', 'log'] as const;
type ChannelName = (typeof CHANNELS)[number];
const TOP_KEYS = ['db', 'threshold', 'warning', 'repeat', 'cron', 'keystore', 'batchCount', 'channels', 'failuresBeforeAlert'] as const;
const EMAIL_KEYS = ['host', 'port', 'secure', 'requireTls', 'user', 'password', 'passwordFile', 'from', 'to', 'timeoutMs'] as const;
const WEBHOOK_KEYS = ['url', 'headers', 'timeoutMs'] as const;

export interface WatchConfig {
  /** Where the config came from (for messages), or undefined when no file was read. */
  readonly file: string | undefined;
  readonly db: string | undefined;
  readonly threshold: number;
  readonly warning: number | undefined;
  readonly repeatMs: number;
  readonly cron: string;
  readonly keystore: string;
  readonly batchCount: number;
  readonly failuresBeforeAlert: number;
  readonly email: EmailChannelConfig | undefined;
  readonly webhook: WebhookChannelConfig | undefined;
  readonly log: boolean;
}

/** What the command line gave (strings as typed). */
export interface WatchFlags {
  readonly config?: string;
  readonly db?: string;
  readonly threshold?: string;
  readonly warning?: string;
  readonly repeat?: string;
  readonly cron?: string;
  readonly keystore?: string;
}

type Json = Record<string, unknown>;

/** The config file path: `--config`, else `$XDG_CONFIG_HOME/coldpool/config.json` (default `~/.config`). */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'coldpool', 'config.json');
}

function fileError(file: string, message: string, hint?: string): CodedError {
  return new CodedError('INVALID_INPUT', `config ${file}: ${message}`, { hint: hint ?? 'see "coldpool watch --help" for the config file format' });
}

function readConfigFile(flag: string | undefined, env: NodeJS.ProcessEnv): { file: string | undefined; json: Json } {
  const file = flag ?? defaultConfigPath(env);
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

/** An integer from a flag (USAGE) or env/file (INVALID_INPUT), strictly: no `1e3`, no `12abc`. */
function integer(name: string, value: unknown, min: number, source: 'flag' | 'env' | string): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : undefined;
  const n = text !== undefined && /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    const message = `"${name}" expected an integer >= ${min}, got ${show(value)}`;
    if (source === 'flag') throw new CodedError('USAGE', message);
    throw source === 'env' ? new CodedError('INVALID_INPUT', `environment: ${message}`) : fileError(source, message);
  }
  return n;
}

/**
 * A duration: `90s`, `15m`, `24h`, `1d`, or a bare number of seconds.
 *
 * @example parseDuration('repeat', '24h', 'flag') // 86400000
 */
export function parseDuration(name: string, value: unknown, source: 'flag' | 'env' | string): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const m = /^(\d+)(s|m|h|d)?$/.exec(text);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m?.[2] ?? 's') as 's'];
  const ms = m ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(ms) || ms < 1_000) {
    const message = `"${name}" expected a duration like 90s, 15m, 24h or 1d (at least 1s), got ${show(value)}`;
    if (source === 'flag') throw new CodedError('USAGE', message);
    throw source === 'env' ? new CodedError('INVALID_INPUT', `environment: ${message}`) : fileError(source, message);
  }
  return ms;
}

/** A cron expression node-cron accepts (5 fields, or 6 with seconds first). */
export function checkCron(expr: string, source: 'flag' | 'env' | string): string {
  const v = cron.validateDetailed(expr);
  if (!v.valid) {
    const why = v.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    const message = `"cron" expected a cron expression like "*/5 * * * *" (minute hour day month weekday, optional seconds first), got ${show(expr)}${why ? ` (${why})` : ''}`;
    if (source === 'flag') throw new CodedError('USAGE', message);
    throw source === 'env' ? new CodedError('INVALID_INPUT', `environment: ${message}`) : fileError(source, message);
  }
  return expr;
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
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fileError(file, '"channels.email" expected an object');
  const o = raw as Json;
  checkKeys('channels.email.', o, EMAIL_KEYS, file);
  const host = env.COLDPOOL_SMTP_HOST || str(o, 'host', 'channels.email.', file, true)!;
  const secure = bool(o, 'secure', 'channels.email.', file) ?? false;
  const port = env.COLDPOOL_SMTP_PORT ? integer('COLDPOOL_SMTP_PORT', env.COLDPOOL_SMTP_PORT, 1, 'env') : o.port === undefined ? (secure ? 465 : 587) : integer('channels.email.port', o.port, 1, file);
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
    timeoutMs: o.timeoutMs === undefined ? DEFAULT_CHANNEL_TIMEOUT_MS : integer('channels.email.timeoutMs', o.timeoutMs, 100, file),
  };
}

function parseWebhook(raw: unknown, file: string, env: NodeJS.ProcessEnv): WebhookChannelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fileError(file, '"channels.webhook" expected an object');
  const o = raw as Json;
  checkKeys('channels.webhook.', o, WEBHOOK_KEYS, file);
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
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers) || !Object.values(headers).every((v) => typeof v === 'string')) {
    throw fileError(file, '"channels.webhook.headers" expected an object of strings');
  }
  return {
    url,
    headers: headers as Record<string, string>,
    timeoutMs: o.timeoutMs === undefined ? DEFAULT_CHANNEL_TIMEOUT_MS : integer('channels.webhook.timeoutMs', o.timeoutMs, 100, file),
  };
}

/**
 * Everything `pool check` and `watch` need, checked. `withChannels: false`
 * (pool check) skips the channels, so a cron check never reads SMTP secrets.
 */
export function loadWatchConfig(flags: WatchFlags, env: NodeJS.ProcessEnv = process.env, opts: { withChannels?: boolean } = {}): WatchConfig {
  const { file, json } = readConfigFile(flags.config, env);
  const f = file ?? '(none)';
  checkKeys('', json, TOP_KEYS, f);
  const pick = <T>(flag: string | undefined, envName: string, key: string, parse: (v: unknown, source: string) => T, fallback: T): T => {
    if (flag !== undefined) return parse(flag, 'flag');
    const e = env[envName];
    if (e !== undefined && e !== '') return parse(e, 'env');
    if (json[key] !== undefined) return parse(json[key], f);
    return fallback;
  };
  const threshold = pick(flags.threshold, 'COLDPOOL_WATCH_THRESHOLD', 'threshold', (v, s) => integer('threshold', v, 1, s), DEFAULT_THRESHOLD);
  const warning = pick<number | undefined>(flags.warning, 'COLDPOOL_WATCH_WARNING', 'warning', (v, s) => integer('warning', v, 1, s), undefined);
  if (warning !== undefined && warning <= threshold) {
    throw new CodedError('USAGE', `"warning" expected a count above the threshold ${threshold}, got ${warning}`, { hint: 'the warning level is the earlier alert: --warn 2500 --threshold 1000' });
  }
  const repeatMs = pick(flags.repeat, 'COLDPOOL_WATCH_REPEAT', 'repeat', (v, s) => parseDuration('repeat', v, s), DEFAULT_REPEAT_MS);
  const cronExpr = pick(flags.cron, 'COLDPOOL_WATCH_CRON', 'cron', (v, s) => checkCron(String(v), s), DEFAULT_CRON);
  const keystore = pick(flags.keystore, 'COLDPOOL_KEYSTORE', 'keystore', (v, s) => {
    if (typeof v !== 'string' || v === '') throw s === 'flag' ? new CodedError('USAGE', '"keystore" expected a path') : fileError(s, '"keystore" expected a path on the signer');
    return v;
  }, DEFAULT_KEYSTORE);
  const batchCount = json.batchCount === undefined ? DEFAULT_BATCH_COUNT : integer('batchCount', json.batchCount, 1, f);
  const failuresBeforeAlert = json.failuresBeforeAlert === undefined ? 3 : integer('failuresBeforeAlert', json.failuresBeforeAlert, 1, f);
  const db = flags.db ?? (env.COLDPOOL_DB || (json.db === undefined ? undefined : str(json, 'db', '', f, true)));

  let email: EmailChannelConfig | undefined;
  let webhook: WebhookChannelConfig | undefined;
  let log = true;
  if (opts.withChannels !== false) {
    const channels = (json.channels ?? {}) as Json;
    if (typeof channels !== 'object' || channels === null || Array.isArray(channels)) throw fileError(f, '"channels" expected an object with keys email, webhook, log');
    for (const name of Object.keys(channels)) {
      if (!(CHANNELS as readonly string[]).includes(name)) {
        throw fileError(f, `unknown channel ${show(name)}; expected one of ${CHANNELS.join(', ')}`);
      }
    }
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
    if (enabled.has('email')) email = parseEmail(channels.email ?? {}, f, env);
    if (enabled.has('webhook')) webhook = parseWebhook(channels.webhook ?? {}, f, env);
    log = enabled.has('log');
  }
  return Object.freeze({ file, db, threshold, warning, repeatMs, cron: cronExpr, keystore, batchCount, failuresBeforeAlert, email, webhook, log });
}
