import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { CodedError } from '../../core/errors.js';
import type { VerifierDatabase } from '../../core/ports.js';
import { assertOperatorKeyAbsent, generateOperatorKey, readOperatorKey, readOperatorKeyPublic, writeOperatorKey } from '../../trust/operator-key.js';
import cron from 'node-cron';
import { systemClock } from '../../core/ports.js';
import { auditSigner } from '../../core/audit-signature.js';
import { publicKeyFromHex } from '../../core/ed25519.js';
import { checkVerifierAudit, resendToken, verifierOverview, verifierRequest } from '../../flows/verifier-status.js';
import { SmtpUserMailer } from '../../notify/email.js';
import { Verifier, chainViewOn, type CycleReport } from '../../verifier/cycle.js';
import { verifierLedger } from '../../flows/verifier-status.js';
import { table, toJson, type Output } from '../output.js';
import { NODE_HELP, addNodeOptions, sourceOf, startNotifiers, type NodeOptions } from './options.js';
import { parseId } from './withdrawal-context.js';
import { MIN_PASSWORD_LENGTH, existingPasswordFor, newPasswordFor } from '../secrets.js';
import { CONFIG_OPTION_HELP, DEFAULT_VERIFIER_DB_URL, channelsOf, configOf, type AlertChannels, type Config } from './config.js';
import { withDatabase, withVerifierDatabase } from './database.js';

const VERIFIER_KEY_PASSWORD = {
  noun: 'verifier key',
  intro: `Choose a password for the verifier key (at least ${MIN_PASSWORD_LENGTH} characters). Anyone with the file and the password can attest withdrawals.`,
};

const DB_HELP = `the verifier's OWN database: sqlite:PATH or mysql://user:pass@host/db, never the web one (default: COLDPOOL_DB, config "db", then ${DEFAULT_VERIFIER_DB_URL})`;
const WEB_DB_HELP = 'the web database, through the verifier\'s read-only account (coldpool_verifier in sql/mysql/grants.sql) (default: COLDPOOL_WEB_DB, config "webDb")';

/** The verifier's own database URL: `--db`/COLDPOOL_DB/"db" when given, else its own default (never the pool's ./coldpool.db). */
export function verifierDbOf(config: Config): string {
  return config.dbDefaulted ? DEFAULT_VERIFIER_DB_URL : config.db;
}


/** `coldpool verifier init|run|status`: the verification server ("the cop"), on its own machine. */
export function registerVerifier(program: Command, out: Output): void {
  const group = program
    .command('verifier')
    .summary('the verifier: users confirm each withdrawal by an emailed one-time token; it signs attestations')
    .description(
      'The verifier runs on a machine of its own, with a database of its own and an Ed25519 key of its own.\n' +
        'It pulls from the web database through a read-only account (the web host never connects to it and\n' +
        'never learns its address) and writes there only signed attestations. A withdrawal is paid only when\n' +
        'the trust files of the operator box and of the signer name this verifier\'s key and its attestation\n' +
        'verifies: the user confirmed it through a link mailed to the address in the verifier\'s OWN mirror,\n' +
        'the request did not change since the verifier first saw it, and the user was not on hold after an\n' +
        'email change.\n\n' +
        'Steps: `verifier init` (database and key; prints the public key), `coldpool trust set-verifier` on\n' +
        'the operator box and the signer, then `verifier run` (daemon) or `verifier run --once` from cron.',
    );

  group
    .command('init')
    .summary('create the verifier\'s database and key; print the public key for the trust files')
    .description(
      'Create (or bring up to date) the verifier\'s own database, and create its Ed25519 key in a new\n' +
        'file encrypted with a password (scrypt + AES-256-GCM, mode 0600), like an operator key. An existing\n' +
        'key file is kept as it is (nothing asked): running init again only migrates the database.\n\n' +
        'JSON: {"db", "key", "id", "publicKey", "created": true|false, "schema": N}',
    )
    .option('--db <url>', DB_HELP)
    .requiredOption('--key <file>', 'the verifier key file to create (or the existing one to keep)')
    .option('--password-file <file>', `password from the first line of this file (default: asked twice on the terminal, at least ${MIN_PASSWORD_LENGTH} characters)`)
    .option('--config <file>', CONFIG_OPTION_HELP)
    .option('--json', 'print the result as JSON')
    .addHelpText('after',
      '\nExamples:\n' +
        '  $ coldpool verifier init --db sqlite:/var/lib/coldpool-verifier/verifier.db --key /etc/coldpool-verifier/verifier.key\n' +
        '  $ coldpool trust set-verifier --trust coldpool-trust.json --public-key <the printed key>   # operator box AND signer\n')
    .action(async (opts: { key: string; passwordFile?: string; json?: boolean }, cmd: Command) => {
      const config = configOf(cmd);
      const url = verifierDbOf(config);
      let created = false;
      if (!existsSync(opts.key)) {
        const key = generateOperatorKey('verifier');
        assertOperatorKeyAbsent(opts.key);
        const password = await newPasswordFor(opts.passwordFile ?? config.passwordFile, VERIFIER_KEY_PASSWORD, out);
        await writeOperatorKey(opts.key, key, password);
        created = true;
      }
      const header = readOperatorKeyPublic(opts.key);
      const migrated = await withVerifierDatabase(url, (db) => db.migrate(), { mustExist: false });
      if (opts.json) {
        out.data(toJson({ db: url.replace(/:\/\/([^:@/]+):[^@]*@/, '://$1:***@'), key: opts.key, id: header.id, publicKey: header.publicKey, created, schema: migrated.version }));
      } else {
        out.say(`${created ? 'created' : 'kept'} verifier key ${opts.key}; database ${url.replace(/:\/\/([^:@/]+):[^@]*@/, '://$1:***@')} at schema ${migrated.version}`);
        out.data([`key id      ${header.id}`, `public key  ${header.publicKey}`].join('\n'));
        out.say(`next, on the operator box and on the signer: coldpool trust set-verifier --trust coldpool-trust.json --public-key ${header.publicKey}`);
      }
    });

  addNodeOptions(group.command('run'))
    .summary('the verifier\'s loop: mirror emails, mail tokens, read relayed tokens, attest (daemon, or --once)')
    .description(
      'Each cycle: first sight of new requests (fingerprint kept in the verifier\'s database); re-check the\n' +
        'open ones (a request changed after first sight is never attested, and alerted); sync the email\n' +
        'mirror when due (--email-sync, default 1h; a change is stamped with the verifier\'s clock, BOTH the old\n' +
        'and the new address are told, the user is held --hold, default 24h); mail a one-time token to each\n' +
        'new request\'s user at the MIRRORED address, as a link made from --confirm-url (the token is 256 random\n' +
        'bits; only its sha256 is kept); read the tokens the web app relayed (once, before --token-ttl, default\n' +
        '1h, for that request only; wrong ones lock the request after verifier.maxWrongTokens, default 5);\n' +
        'record every address of the pool at first sight (re-derived from the pinned descriptor; the owner kept\n' +
        'from first sight; any later change of owner, text or a status moving back alerted; every row compared\n' +
        'again every --address-check, default 10m); follow the chain with its OWN node into its own database;\n' +
        'attest what is confirmed, unchanged, not held and within the user\'s balance; publish the attestations;\n' +
        'send notices and alerts.\n\n' +
        'BALANCE CHECKING NEEDS A NODE. With --node/--rpc-cookie/--esplora (config "node"/"rpcCookie"/"esplora"\n' +
        'on the verifier\'s machine) the verifier keeps its own chain view: a user\'s balance is the confirmed\n' +
        'deposits to the addresses recorded for them at first sight minus every withdrawal it attested for\n' +
        'them, and a request above it stays confirmed and HELD (a note in the web database\'s verifier_notes,\n' +
        'shown by `withdrawals list/show`; one alert) until deposits cover it. WITHOUT A NODE THERE IS NO\n' +
        'BALANCE CHECK: requests are attested when confirmed, unchanged and not held, whatever the user holds,\n' +
        'and a web database that lies about deposits is not caught by the verifier. `verifier ledger` shows\n' +
        'the balances.\n\n' + NODE_HELP + '\n\n' +
        'Mail goes through channels.email of the config file (its "to" receives the operators\' alerts), alerts\n' +
        'also to the webhook and log channels. Every step commits with what it read, so a kill at any point\n' +
        'resumes without a lost step; a token mail cut off mid-send is replaced by a new token (the old one\n' +
        'stops working), so no token ever works twice.\n\n' +
        'Config file: {"db": "<its own>", "webDb": "mysql://coldpool_verifier:…@web-db/coldpool", "key": "…",\n' +
        '  "passwordFile": "…", "verifier": {"confirmUrl": "https://shop.example/confirm?w={id}&t={token}",\n' +
        '  "tokenTtl": "1h", "hold": "24h", "emailSync": "1h", "addressCheck": "10m", "maxWrongTokens": 5, "cron": "* * * * *"},\n' +
        '  "node": "http://user:pass@127.0.0.1:8332",\n' +
        '  "channels": {"email": {…, "from": "security@shop.example", "to": ["ops@shop.example"]}}}\n\n' +
        'Exit codes (--once): 0 the cycle ran, 5 the web database or the mail relay could not be reached\n' +
        '(retried next cycle; the alert goes out once), 2 bad flag, 3 bad config or key.',
    )
    .option('--db <url>', DB_HELP)
    .option('--web-db <url>', WEB_DB_HELP)
    .option('--key <file>', 'the verifier key file (default: COLDPOOL_KEY, config "key")')
    .option('--password-file <file>', 'the key\'s password from the first line of this file (a daemon cannot ask)')
    .option('--confirm-url <template>', 'link mailed to users, with {id} and {token} (config verifier.confirmUrl)')
    .option('--token-ttl <duration>', 'how long a token works: 30m, 1h (default 1h)')
    .option('--hold <duration>', 'hold after an email change (default 24h)')
    .option('--email-sync <duration>', 'how often the email mirror is synced (default 1h)')
    .option('--address-check <duration>', 'how often every address row of the web database is compared with the verifier\'s record (default 10m)')
    .option('--network <name>', 'the pool\'s network, when the verifier\'s account may not read pool_accounts')
    .option('--once', 'run one cycle and exit (for cron)')
    .option('--json', 'with --once: print the cycle report as JSON')
    .option('--config <file>', CONFIG_OPTION_HELP)
    .addHelpText('after',
      '\nExamples:\n' +
        '  $ coldpool verifier run --config /etc/coldpool-verifier/config.json\n' +
        '  $ coldpool verifier run --once --json --config /etc/coldpool-verifier/config.json   # from cron\n\n' +
        'Log lines (stdout, daemon): {"event":"started"|"cycle"|"alert"|"stopped",…}; never a token.\n')
    .action(async (opts: NodeOptions & { once?: boolean; json?: boolean }, cmd: Command) => {
      await runVerifier(configOf(cmd), { once: opts.once ?? false, json: opts.json ?? false, node: opts }, out, channelsOf(configOf(cmd)), verifierDbOf(configOf(cmd)));
    });

  registerResend(group, out);
  registerLedger(group, out);

  group
    .command('status')
    .summary('where every request stands at the verifier, the mirror, holds and the outbox')
    .description(
      'Read the verifier\'s own database (nothing else): requests by state, the ones not attested and why,\n' +
        'users mirrored and on hold, mail waiting to go out, the last email sync, and the latest events.\n' +
        'With --id, one request and every event about it.\n\n' +
        'JSON: {"db", "states": {state: n}, "users", "held", "pendingMail", "lastEmailSync", "open": [{"id","user","state","note",…}], "events": […]}',
    )
    .option('--db <url>', DB_HELP)
    .option('--id <withdrawal>', 'one request, with its events')
    .option('--key <file>', 'the verifier key file: its public half checks the signatures of the audit chain (no password)')
    .option('--json', 'print as JSON')
    .option('--config <file>', CONFIG_OPTION_HELP)
    .addHelpText('after', '\nExamples:\n  $ coldpool verifier status\n  $ coldpool verifier status --id 42 --json\n')
    .action(async (opts: { id?: string; json?: boolean }, cmd: Command) => {
      const config = configOf(cmd);
      // The key's public half (no password) lets status check that every entry of the verifier's audit chain is its own.
      const header = config.keyFile === undefined ? undefined : readOperatorKeyPublic(config.keyFile);
      const key = header ? { id: header.id, publicKey: publicKeyFromHex(header.publicKey) } : undefined;
      await withVerifierDatabase(verifierDbOf(config), (db) => verifierStatus(db, opts, out, key));
    });
}

/** `verifier ledger [--user U] [--json]`: the balances as the verifier computes them, their entries, and the alerts about each user. */
function registerLedger(group: Command, out: Output): void {
  group
    .command('ledger')
    .summary('each user\'s balance as the verifier sees it: deposits from its own chain view, attested withdrawals, alerts')
    .description(
      'Read the verifier\'s own database (nothing else): for each user, the confirmed deposits of its chain\n' +
        'view to the addresses recorded for the user at first sight (txid:vout, height), every withdrawal it\n' +
        'attested (pending, or confirmed once its payout is in a block of the view), the balance (deposits\n' +
        'minus attested withdrawals, pending or confirmed), and every alert the verifier raised about the user\n' +
        '(an address reassigned, a request held for its balance, a deposit a reorg removed). Without a node\n' +
        'configured for `verifier run` there are no deposits here, and no balance was checked.\n\n' +
        'JSON: {"db", "users": [{"user", "balanceSat", "creditedSat", "pendingDebitSat", "confirmedDebitSat",\n' +
        '  "deposits": [{"txid","vout","address","amountSat","height"}], "withdrawals": [{"id","amountSat","attestedAt",\n' +
        '  "state": "pending"|"confirmed","payout": {"txid","vout","height"}|null}], "alerts": [{"kind","at","title","facts"}]}]}',
    )
    .option('--db <url>', DB_HELP)
    .option('--user <id>', 'one user only')
    .option('--json', 'print as JSON')
    .option('--config <file>', CONFIG_OPTION_HELP)
    .addHelpText('after', '\nExamples:\n  $ coldpool verifier ledger\n  $ coldpool verifier ledger --user alice --json\n')
    .action(async (opts: { user?: string; json?: boolean }, cmd: Command) => {
      const config = configOf(cmd);
      await withVerifierDatabase(verifierDbOf(config), async (db) => {
        const rows = await verifierLedger(db.store, opts.user, db.ledger);
        if (opts.json) {
          out.data(toJson({
            db: db.label,
            users: rows.map((l) => ({
              user: l.user, balanceSat: l.balanceSat, creditedSat: l.creditedSat, pendingDebitSat: l.pendingDebitSat, confirmedDebitSat: l.confirmedDebitSat, internalSat: l.internalSat,
              deposits: l.deposits.map((d) => ({ txid: d.txid, vout: d.vout, address: d.address, amountSat: d.amountSat, height: d.height })),
              withdrawals: l.debits.map((d) => ({ id: d.withdrawalId, amountSat: d.amountSat, attestedAt: d.attestedAt, state: d.paid ? 'confirmed' : 'pending', payout: d.paid ?? null })),
              alerts: l.alerts.map((a) => ({ kind: a.kind, at: a.createdAt, title: a.subject, facts: a.facts })),
            })),
          }));
          return;
        }
        if (rows.length === 0) return void out.data(opts.user ? `user ${opts.user}: nothing at the verifier` : 'no user at the verifier yet');
        out.data(rows.map((l) => [
          `user ${l.user}  balance ${l.balanceSat} sat  (deposits ${l.creditedSat}, attested withdrawals pending ${l.pendingDebitSat}, confirmed ${l.confirmedDebitSat}, reconciled internal entries ${l.internalSat})`,
          ...l.deposits.map((d) => `  + ${String(d.amountSat).padStart(16)}  deposit ${d.txid}:${d.vout} at ${d.height} to ${d.address}`),
          ...l.debits.map((d) => `  - ${String(d.amountSat).padStart(16)}  withdrawal #${d.withdrawalId} attested ${d.attestedAt}, ${d.paid ? `confirmed ${d.paid.txid}:${d.paid.vout} at ${d.paid.height}` : 'pending'}`),
          ...l.alerts.map((a) => `  ! ${a.createdAt}  ${a.kind}: ${a.subject.replace(/^coldpool verifier: /, '')}`),
        ].join('\n')).join('\n\n'));
      });
    });
}

/** `verifier resend ID`: a new token for a request whose token expired. */
function registerResend(group: Command, out: Output): void {
  group
    .command('resend')
    .argument('<id>', 'the withdrawal id')
    .summary('mail a new token for a request whose token expired before the user clicked')
    .description(
      'Move an expired request back to "new": the next cycle mails its user a new one-time token (the old\n' +
        'one stays dead). Refused for any other state: a locked request (too many wrong tokens) or a changed\n' +
        'one is never re-opened; the user asks for the withdrawal again.',
    )
    .option('--db <url>', DB_HELP)
    .option('--operator <name>', 'who asks, for the verifier\'s events (default: COLDPOOL_OPERATOR, config "operator", then the login name)')
    .option('--key <file>', 'the verifier key file, which signs the audit entry (default: COLDPOOL_KEY, config "key")')
    .option('--password-file <file>', 'the key\'s password from the first line of this file (default: asked on the terminal)')
    .option('--config <file>', CONFIG_OPTION_HELP)
    .option('--json', 'print {"id","state"}')
    .action(async (idText: string, opts: { json?: boolean }, cmd: Command) => {
      const config = configOf(cmd);
      const id = parseId(idText);
      const key = await verifierKeyOf(config);
      const r = await withVerifierDatabase(verifierDbOf(config), (db) => resendToken(db.store, id, config.operator, new Date()), { mustExist: true, auditSigner: auditSigner(key.id, key.privateKey) });
      if (opts.json) out.data(toJson({ id: id.toString(), state: r.state }));
      else out.say(`withdrawal ${id}: a new token goes to its user on the verifier's next cycle`);
    });
}

/** The verifier key, unlocked: from `--key`/config "key", password from `--password-file`/config or the terminal. */
export async function verifierKeyOf(config: Config): Promise<{ privateKey: KeyObject; id: string; publicKey: string }> {
  if (config.keyFile === undefined) {
    throw new CodedError('USAGE', 'the verifier signs with its key: give "--key FILE" (or COLDPOOL_KEY, config "key")', { hint: 'create it with `coldpool verifier init --key FILE`' });
  }
  const password = await existingPasswordFor(config.passwordFile, VERIFIER_KEY_PASSWORD, config.keyFile);
  const key = await readOperatorKey(config.keyFile, password);
  return { privateKey: key.privateKey, id: key.id, publicKey: key.publicKey };
}


/** `verifier run`: one cycle (--once) or the daemon on the verifier's cron schedule. */
export async function runVerifier(config: Config, opts: { once: boolean; json: boolean; node?: NodeOptions }, out: Output, channels: AlertChannels, dbUrl: string): Promise<void> {
  const v = config.verifier;
  if (v.webDb === undefined) throw new CodedError('USAGE', 'the verifier reads the web database: give "--web-db URL" (or COLDPOOL_WEB_DB, config "webDb")', { hint: 'use the read-only coldpool_verifier account of sql/mysql/grants.sql' });
  if (v.confirmUrl === undefined) throw new CodedError('USAGE', 'the verifier mails a confirmation link: give "--confirm-url TEMPLATE" (or config verifier.confirmUrl), e.g. https://shop.example/confirm?w={id}&t={token}');
  if (channels.email === undefined) {
    throw new CodedError('USAGE', 'the verifier mails tokens to users: configure channels.email (host, port, from, and "to" for the operators\' alerts) in the config file', { hint: 'see `coldpool verifier run --help`' });
  }
  if (!opts.once) {
    const check = cron.validate(v.cron);
    if (!check) throw new CodedError('INVALID_INPUT', `config ${config.file ?? '(none)'}: "verifier.cron" expected a cron expression like "* * * * *", got ${JSON.stringify(v.cron)}`);
  }
  const key = await verifierKeyOf(config);
  const mailer = new SmtpUserMailer(channels.email);
  const notifiers = await startNotifiers(config, channels, out);
  const log = (event: Record<string, unknown>) => out.data(toJson(event).replace(/\n\s*/g, ''));
  // The verifier's OWN node (never the web host's): without one there is no chain view and no balance check.
  const hasNode = config.node.node !== undefined || config.node.rpcCookie !== undefined || config.node.esplora !== undefined;
  const source = hasNode ? sourceOf(config, opts.node ?? {}) : undefined;
  if (!hasNode) out.say('verifier: no node configured (--node/--rpc-cookie/--esplora): balances are NOT checked before attesting');
  try {
    await withVerifierDatabase(dbUrl, (vdb) => withDatabase(v.webDb!, async (web) => {
      const chainView = source === undefined ? undefined : await chainViewOn(vdb, source);
      const verifier = Verifier.on(web, vdb, {
        key: { privateKey: key.privateKey, id: key.id }, mailer, notifiers, ...(chainView ? { chainView } : {}),
        clock: systemClock, settings: { confirmUrl: v.confirmUrl!, tokenTtlMs: v.tokenTtlMs, holdMs: v.holdMs, emailSyncEveryMs: v.emailSyncMs, addressCheckEveryMs: v.addressCheckMs, maxWrongTokens: v.maxWrongTokens },
        log: opts.once ? () => {} : log,
      });
      if (opts.once) {
        const report = await verifier.cycle();
        if (opts.json) out.data(toJson(report));
        else out.data(reportText(report));
        if (report.errors.length > 0) {
          throw new CodedError('UNAVAILABLE', `the cycle could not finish: ${report.errors[0]}${report.errors.length > 1 ? ` (and ${report.errors.length - 1} more)` : ''}`, {
            hint: 'nothing half-done was kept; the next cycle retries, and the alert went out once',
          });
        }
        return;
      }
      log({ event: 'started', at: new Date().toISOString(), pid: process.pid, db: vdb.label, web: web.label, cron: v.cron, key: key.id, channels: notifiers.map((n) => n.channel) });
      let running: Promise<unknown> = Promise.resolve();
      const tick = () => {
        running = running.then(() => verifier.cycle()).catch((e: unknown) => log({ event: 'cycle-failed', at: new Date().toISOString(), error: (e as Error).message }));
      };
      const task = cron.schedule(v.cron, tick, { noOverlap: true, name: 'coldpool-verifier', logger: { info: () => {}, debug: () => {}, warn: (m) => out.say(`cron: ${m}`), error: (m) => out.say(`cron: ${String(m)}`) } });
      tick();
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      await task.destroy();
      await running;
      log({ event: 'stopped', at: new Date().toISOString(), signal });
    }, { mustExist: true, ...(config.network ? { network: config.network } : {}) }), { mustExist: true, auditSigner: auditSigner(key.id, key.privateKey) });
  } finally {
    await mailer.close();
    await Promise.all(notifiers.map((n) => n.close()));
    await source?.close();
  }
}

function reportText(r: CycleReport): string {
  const lines = [
    `cycle at ${r.at}`,
    `  first seen ${r.firstSight}, changed ${r.changed}, tokens mailed ${r.tokensSent}, confirmed ${r.confirmed}, refused ${r.refused}, locked ${r.locked}`,
    `  attested ${r.attested}, held ${r.held}, published ${r.published}, notices and alerts sent ${r.mailsSent}`,
  ];
  if (r.synced) lines.push(`  email mirror: ${r.synced.users} users, ${r.synced.added} new, ${r.synced.changed} changed, ${r.synced.missing} missing`);
  for (const e of r.errors) lines.push(`  error: ${e}`);
  return lines.join('\n');
}

/** `verifier status`. */
async function verifierStatus(db: VerifierDatabase, opts: { id?: string; json?: boolean }, out: Output, key: { id: string; publicKey: KeyObject } | undefined): Promise<void> {
  if (opts.id !== undefined) {
    const id = parseId(opts.id);
    const found = await verifierRequest(db.store, id);
    if (!found) throw new CodedError('NOT_FOUND', `withdrawal ${id} was never seen by this verifier (${db.label})`, { hint: 'the verifier sees a request on its next cycle' });
    const { request: r, events } = found;
    const { tokenHash: _hash, ...shown } = r;
    if (opts.json) return void out.data(toJson({ request: shown, events }));
    out.data([
      `withdrawal ${id}  user ${r.user}  state ${r.state}${r.note ? `  (${r.note})` : ''}`,
      `  first seen ${r.firstSeenAt}  fingerprint ${r.fingerprint}`,
      `  tokens issued ${r.tokensIssued}, wrong tokens ${r.wrongTokens}${r.tokenExpiresAt ? `, token expires ${r.tokenExpiresAt}` : ''}`,
      ...(r.confirmedAt ? [`  confirmed ${r.confirmedAt}`] : []),
      ...(r.attestedAt ? [`  attested ${r.attestedAt}${r.publishedAt ? `, published ${r.publishedAt}` : ', not published yet'}`] : []),
      '',
      ...events.map((e) => `  ${e.at}  ${e.kind.padEnd(16)} ${e.detail}`),
    ].join('\n'));
    return;
  }
  const o = await verifierOverview(db.store);
  const audit = await checkVerifierAudit(db.store, key);
  const auditJson = { ...audit.chain, unsigned: audit.unsigned ?? null, badSignature: audit.badSignature ?? null };
  const auditText = !audit.chain.ok ? `audit chain BROKEN: ${audit.chain.message}`
    : `audit chain ok, ${audit.chain.count} entries${audit.unsigned === undefined ? ' (give --key to check their signatures)' : audit.unsigned + audit.badSignature! === 0 ? `, all signed by verifier key ${key!.id}` : `, ${audit.unsigned} unsigned and ${audit.badSignature} NOT signed by verifier key ${key!.id}`}`;
  if (opts.json) {
    out.data(toJson({
      db: db.label, audit: auditJson, states: o.states, users: o.users, held: o.held, pendingMail: o.pendingMail, lastEmailSync: o.lastEmailSync ?? null,
      open: o.open.map((r) => ({ id: r.withdrawalId.toString(), user: r.user, state: r.state, note: r.note ?? null, firstSeenAt: r.firstSeenAt, tokensIssued: r.tokensIssued, wrongTokens: r.wrongTokens })),
      events: o.events,
    }));
    return;
  }
  const states = Object.entries(o.states).map(([s, n]) => `${s} ${n}`).join(', ') || 'none yet';
  out.data([
    `verifier database ${db.label}`,
    `requests: ${states}`,
    `email mirror: ${o.users} users, ${o.held} on hold; last sync ${o.lastEmailSync ?? 'never'}`,
    `outbox: ${o.pendingMail} notice(s)/alert(s) not sent yet`,
    auditText,
    '',
    o.open.length === 0 ? 'every request seen is attested or closed' : table(['id', 'user', 'state', 'why'], o.open.map((r) => [r.withdrawalId, r.user, r.state, r.note ?? ''])),
  ].join('\n'));
}
