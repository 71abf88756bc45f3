import { Command } from 'commander';
import { formatBtc, parseBtc, parseSat } from '../../core/amount.js';
import { CodedError } from '../../core/errors.js';
import { isWithdrawalStatus, WITHDRAWAL_STATUSES, type WithdrawalStatus } from '../../core/withdrawal-state.js';
import type { ReviewedWithdrawal } from '../../core/ports.js';
import { requestWithdrawal } from '../../flows/request-withdrawal.js';
import { relayConfirmation } from '../../flows/relay-confirmation.js';
import { withDatabase } from './database.js';
import { approveWithdrawals, cancelReason, cancelWithdrawal, listQueue, rejectWithdrawal } from '../../flows/review-withdrawals.js';
import { table, toJson, type Output } from '../output.js';
import { parseIntegerOption } from '../run.js';
import { configOf, policyOf } from './config.js';
import {
  addApproverOptions, addAuditKeyOptions, addDbOptions, addOperatorOptions, approverOf, auditSignerOf, optionalTrustOf, parseId, withStore, withdrawalJson, type OperatorOptions,
} from './withdrawal-context.js';
import { attestationCell, attestationText } from '../../core/attestation-view.js';
import { attestationViews, withdrawalDetail } from '../../flows/review-withdrawals.js';

interface RequestOptions extends OperatorOptions {
  appId: string;
  user: string;
  address: string;
  amount?: string;
  amountSat?: string;
}

interface ListOptions extends OperatorOptions {
  passwordFile?: string;
  status: string;
  limit: string;
  after?: string;
  user?: string;
}

/** The `withdrawals` command group: request (web host), list, approve, reject, cancel (operator). */
export function registerWithdrawals(program: Command, out: Output): void {
  const group = program.command('withdrawals').summary('withdrawal requests: request (web host); list, approve, reject, cancel (operator)');
  registerRequest(group, out);
  registerList(group, out);
  registerShow(group, out);
  registerApprove(group, out);
  registerReject(group, out);
  registerCancel(group, out);
  registerConfirm(group, out);
}

function registerConfirm(group: Command, out: Output): void {
  addDbOptions(group.command('confirm'))
    .argument('<id>', 'the withdrawal id (the w= of the confirmation link)')
    .summary('relay a user\'s confirmation token to the verifier (the web host\'s door, when the user clicks)')
    .description(
      'Store the token of the confirmation link the user clicked (…/confirm?w=ID&t=TOKEN) for the verifier,\n' +
        'which reads it on its next cycle. Nothing is judged here: only the verifier holds the token\'s hash, so\n' +
        'this exits 0 for any well-formed token, and a wrong one counts against the request at the verifier\n' +
        '(too many lock it). A token works once, before it expires (default 1 h), for its own request.\n' +
        'Node apps call relayConfirmation(db.verification, id, token); others run the INSERT of sql/README.md.\n\n' +
        'The token is read from --token, or from stdin with --token - (keeps it out of the process list).',
    )
    .requiredOption('--token <token>', 'the t= of the link, or - to read it from stdin')
    .option('--json', 'print {"withdrawal_id","relayed":true}')
    .addHelpText('after', '\nExamples:\n  $ coldpool withdrawals confirm 42 --token 3q2-7w…\n  $ printf %s "$TOKEN" | coldpool withdrawals confirm 42 --token -\n')
    .action(async (idText: string, opts: { token: string; json?: boolean }, cmd: Command) => {
      const id = parseId(idText);
      const token = opts.token === '-' ? (await readStdin()).trim() : opts.token;
      await withDatabase(configOf(cmd).db, (db) => relayConfirmation(db.verification, id, token));
      if (opts.json) out.data(toJson({ withdrawal_id: id.toString(), relayed: true }));
      else out.say(`relayed the confirmation of withdrawal ${id}; the verifier checks it on its next cycle`);
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function registerRequest(group: Command, out: Output): void {
  addDbOptions(group.command('request'))
    .summary('queue a withdrawal request (the web host\'s door; the operator decides later)')
    .description(
      'Check a request against the intake rules and queue it. Nothing is written when a rule is broken:\n' +
        '  - the address is valid for the pool\'s network: P2PKH, P2SH, P2WPKH, P2WSH, P2TR (bech32/bech32m per BIP173/BIP350);\n' +
        '  - the amount is exact (at most 8 decimals, no exponent), above the dust limit of the output type, at most 21,000,000 BTC;\n' +
        '  - the same --app-id with the same content returns the existing request (exit 0); with other content it is refused (exit 4).',
    )
    .requiredOption('--app-id <id>', 'your own id for this request (unique; makes retries safe)')
    .requiredOption('--user <user>', 'the user who asks')
    .requiredOption('--address <address>', 'destination address')
    .option('--amount <btc>', 'amount in BTC, e.g. 0.0015')
    .option('--amount-sat <sat>', 'amount in satoshis, e.g. 150000')
    .option('--json', 'print the request as JSON: {"id","app_id","user","destination","amount_sat":"150000","status","created":true}', false)
    .addHelpText('after', '\nExamples:\n  $ coldpool withdrawals request --app-id w-981 --user alice --address bc1q… --amount 0.0015\n  $ coldpool withdrawals request --app-id w-982 --user bob --address 3J98t1… --amount-sat 150000 --json\n')
    .action(async (opts: RequestOptions, cmd: Command) => {
      if ((opts.amount === undefined) === (opts.amountSat === undefined)) throw new CodedError('USAGE', 'give exactly one of "--amount <btc>" or "--amount-sat <sat>"');
      const amountSat = opts.amount !== undefined ? parseBtc(opts.amount, '--amount') : parseSat(opts.amountSat, '--amount-sat');
      await withStore(cmd, async (store) => {
        const r = await requestWithdrawal(store, { appId: opts.appId, user: opts.user, address: opts.address, amountSat });
        const w = r.withdrawal;
        if (opts.json) {
          out.data(toJson({ id: w.id, app_id: w.appId, user: w.user, destination: w.destination, amount_sat: w.amountSat, status: w.status, created: r.kind === 'created' }));
        } else {
          out.data(`${r.kind === 'created' ? 'queued' : 'already queued'}: withdrawal ${w.id} (${w.appId}) ${formatBtc(w.amountSat)} BTC to ${w.destination} for ${w.user}, ${w.status}`);
        }
      });
    });
}

function flagText(w: ReviewedWithdrawal): string {
  return w.flags.map((f) => f.code).join(',') || '-';
}

function registerList(group: Command, out: Output): void {
  addAuditKeyOptions(addOperatorOptions(group.command('list')))
    .summary('the queue, with risk flags (operator)')
    .description(
      'List withdrawal requests with their risk flags. Reading is also the operator tool\'s "first sight": new requests\n' +
        'are fingerprinted (a later edit shows as changed_since_first_seen), and a request that breaks an intake rule\n' +
        '(it came in through raw SQL) is marked invalid with its reason, audited, and never paid.',
    )
    .option('--status <status>', `requested (default), all, or one of ${WITHDRAWAL_STATUSES.join(', ')}`, 'requested')
    .option('--user <user>', 'only this user\'s requests')
    .option('--limit <n>', 'at most this many rows', '100')
    .option('--after <id>', 'rows with an id greater than this (paging)')
    .option('--json', 'print {"withdrawals":[{"id","amount_sat":"…","flags":[{"code","detail"}],…}],"totals":{…},"marked_invalid":[…]}', false)
    .action(async (opts: ListOptions, cmd: Command) => {
      if (opts.status !== 'all' && !isWithdrawalStatus(opts.status)) throw new CodedError('USAGE', `"--status" expected all or one of ${WITHDRAWAL_STATUSES.join(', ')}, got ${JSON.stringify(opts.status)}`);
      const limit = parseIntegerOption('--limit', opts.limit, 1, 10_000);
      const { policy } = policyOf(configOf(cmd));
      const signed = await auditSignerOf(cmd, opts.passwordFile);
      const operator = signed?.name ?? configOf(cmd).operator;
      const trust = optionalTrustOf(cmd);
      await withStore(cmd, async (store) => {
        const { rows, totals, invalid } = await listQueue(store, operator, policy, {
          status: opts.status as WithdrawalStatus | 'all',
          ...(opts.user !== undefined ? { user: opts.user } : {}),
          ...(opts.after !== undefined ? { afterId: parseId(opts.after) } : {}),
          limit,
        });
        for (const i of invalid) out.say(`marked invalid: withdrawal ${i.id}: ${i.message}`);
        const attested = await attestationViews(store, trust, rows);
        if (opts.json) {
          out.data(toJson({
            withdrawals: rows.map((w, k) => withdrawalJson(w, attested[k]!)),
            totals: totals ? { status: opts.status, count: totals.count, amount_sat: totals.amountSat } : null,
            marked_invalid: invalid.map((i) => ({ id: i.id, reason: i.reason, message: i.message })),
          }));
          return;
        }
        out.data(table(['ID', 'USER', 'AMOUNT BTC', 'DESTINATION', 'TYPE', 'STATUS', 'APPROVALS', 'ATTESTED', 'FLAGS'],
          rows.map((w, k) => [w.id, w.user, formatBtc(w.amountSat), w.destination, w.outputType ?? '?', w.status, w.approvals.join(',') || '-', attestationCell(attested[k]!), flagText(w)])));
        if (totals) out.say(`${totals.count} ${opts.status}, ${formatBtc(totals.amountSat)} BTC in total`);
        // A forged attestation row is news for the operator, not a table cell.
        rows.forEach((w, k) => { if (attested[k]!.state === 'invalid') out.say(`withdrawal ${w.id}: ${attestationText(attested[k]!)}`); });
      }, signed?.signer);
    });
}

function registerShow(group: Command, out: Output): void {
  addOperatorOptions(group.command('show'))
    .summary('one request: flags, approvals, attestation state, the user\'s and the destination\'s history (operator)')
    .description(
      'Show one withdrawal request as the review screen does, without deciding and without writing anything: its\n' +
        'flags, the approvals so far, the verifier\'s attestation weighed under the trust file (--trust; attested,\n' +
        'not attested yet, INVALID attestation row, or no verifier configured), and the latest requests of the same\n' +
        'user and to the same destination.',
    )
    .argument('<id>', 'withdrawal id')
    .option('--trust <file>', 'the operator box\'s trust file, whose verifier key weighs the attestations (default: COLDPOOL_TRUST, config "trust")')
    .option('--json', 'print {"withdrawal":{…,"attestation":{"state","verifier","problems"}},"user_history":[…],"destination_history":[…]}', false)
    .action(async (id: string, opts: OperatorOptions, cmd: Command) => {
      const wid = parseId(id);
      const { policy } = policyOf(configOf(cmd));
      const trust = optionalTrustOf(cmd);
      await withStore(cmd, async (store) => {
        const found = await withdrawalDetail(store, policy, wid);
        if (!found) throw new CodedError('NOT_FOUND', `withdrawal ${wid} does not exist`, { hint: 'see `coldpool withdrawals list --status all`' });
        const { withdrawal: w, userHistory, destinationHistory } = found;
        const [view] = await attestationViews(store, trust, [w]);
        if (opts.json) {
          const history = async (rows: ReviewedWithdrawal[]) => {
            const views = await attestationViews(store, trust, rows);
            return rows.map((r, k) => withdrawalJson(r, views[k]!));
          };
          out.data(toJson({ withdrawal: withdrawalJson(w, view!), user_history: await history(userHistory), destination_history: await history(destinationHistory) }));
          return;
        }
        out.data([
          `withdrawal   #${w.id} (app id ${w.appId})`,
          `user         ${w.user}`,
          `amount       ${formatBtc(w.amountSat)} BTC (${w.amountSat} sat)`,
          `destination  ${w.destination} (${w.outputType ?? 'unparseable'})`,
          `created      ${w.createdAt}`,
          `status       ${w.status}${w.reason ? ` (${w.reason})` : ''}`,
          `approvals    ${w.approvals.join(', ') || 'none'}`,
          `attestation  ${attestationText(view!)}`,
          w.flags.length === 0 ? 'flags        none' : `flags:\n${w.flags.map((f) => `  ! ${f.code}: ${f.detail}`).join('\n')}`,
          `user history (${userHistory.length} shown, latest last):`,
          ...userHistory.map((h) => `  #${h.id} ${h.createdAt} ${formatBtc(h.amountSat)} BTC → ${h.destination} ${h.status}`),
          `destination history (${destinationHistory.length} shown):`,
          ...destinationHistory.map((h) => `  #${h.id} ${h.createdAt} ${h.user} ${formatBtc(h.amountSat)} BTC ${h.status}`),
        ].join('\n'));
      });
    });
}

function registerApprove(group: Command, out: Output): void {
  addApproverOptions(addOperatorOptions(group.command('approve')))
    .summary('approve requests by id, each signed with your operator key (operator)')
    .description(
      'Sign the canonical content of each request (network, id, app id, user, destination script, amount, the\n' +
        'fingerprint at first sight) with your operator key (--key; the password asked once, or --password-file) and\n' +
        'store the signature with the approval. The key must be in the trust file (--trust); the approval carries its\n' +
        'name, not --operator. A request becomes approved when the valid signatures of distinct trusted operators over\n' +
        'what it says now reach the trust file\'s requirement for its amount (or the policy\'s approvalsRequired, if\n' +
        'higher). A second approval with the same key is refused: one key is one approval. A request that changed since\n' +
        'first seen is refused unless --override-changed (then what it says now is signed, and both texts are audited).',
    )
    .argument('<id...>', 'withdrawal ids')
    .option('--override-changed', 'approve even when a request changed since first seen (recorded in the audit log)', false)
    .option('--json', 'print [{"id","status","approvals":[…],"approvals_required"} or {"id","error":{code,message}}]', false)
    .addHelpText('after', '\nExamples:\n  $ coldpool withdrawals approve 41 42 --key ~/.coldpool/alice.operator-key --trust coldpool-trust.json\n' +
      '  $ coldpool withdrawals approve 43 --key bob.operator-key --password-file /run/secrets/bob --json\n')
    .action(async (ids: string[], opts: OperatorOptions & { overrideChanged?: boolean; passwordFile?: string }, cmd: Command) => {
      const parsed = ids.map(parseId);
      const { policy } = policyOf(configOf(cmd));
      const approver = await approverOf(cmd, opts.passwordFile);
      await withStore(cmd, async (store) => {
        const results = await approveWithdrawals(store, approver, policy, parsed, {
          overrideChanged: opts.overrideChanged ?? false,
          onResult: ({ id, outcome: r, error: e }) => {
            if (opts.json) return;
            if (r) out.data(`withdrawal ${id}: ${r.status} (${r.approvals.length}/${r.approvalsRequired} approvals: ${r.approvals.join(', ')})`);
            else out.say(`withdrawal ${id}: not approved: ${e.message}`);
          },
        });
        if (opts.json) {
          out.data(toJson(results.map(({ id, outcome: r, error: e }) => (r
            ? { id, status: r.status, approvals: r.approvals, approvals_required: r.approvalsRequired, key_id: approver.operator.id }
            : { id, error: { code: e.code, message: e.message } }))));
        }
        const firstError = results.find((r) => r.error)?.error;
        if (firstError) throw firstError;
      }, approver.audit);
    });
}

function registerReject(group: Command, out: Output): void {
  addAuditKeyOptions(addOperatorOptions(group.command('reject')))
    .summary('reject a request with a reason (operator)')
    .argument('<id>', 'withdrawal id')
    .requiredOption('--reason <text>', 'why (required; goes to the audit log)')
    .option('--json', 'print {"id","status":"rejected"}', false)
    .action(async (id: string, opts: OperatorOptions & { reason: string; passwordFile?: string }, cmd: Command) => {
      const wid = parseId(id);
      const signed = await auditSignerOf(cmd, opts.passwordFile);
      const operator = signed?.name ?? configOf(cmd).operator;
      await withStore(cmd, async (store) => {
        const r = await rejectWithdrawal(store, operator, wid, opts.reason);
        out.data(opts.json ? toJson({ id: r.id, status: r.status }) : `withdrawal ${r.id}: rejected`);
      }, signed?.signer);
    });
}

function registerCancel(group: Command, out: Output): void {
  addAuditKeyOptions(addOperatorOptions(group.command('cancel')))
    .summary('cancel a requested or approved (not yet paid) request, with a reason (operator)')
    .description(
      'Move a request from requested or approved to cancelled: the user withdrew it, or it must not be paid after all.\n' +
        'Guarded like every move: once a payout holds it (in_payout) it cannot be cancelled here (exit 4).\n' +
        'The reason is stored with the request and goes to the audit log.',
    )
    .argument('<id>', 'withdrawal id')
    .requiredOption('--reason <text>', 'why (required; goes to the audit log)')
    .option('--json', 'print {"id","status":"cancelled"}', false)
    .addHelpText('after', '\nExamples:\n  $ coldpool withdrawals cancel 42 --reason "user withdrew the request" --operator alice\n')
    .action(async (id: string, opts: OperatorOptions & { reason: string; passwordFile?: string }, cmd: Command) => {
      const wid = parseId(id);
      const reason = cancelReason(opts.reason); // before the database opens: a bad reason is a usage error wherever the database is
      const signed = await auditSignerOf(cmd, opts.passwordFile);
      const operator = signed?.name ?? configOf(cmd).operator;
      await withStore(cmd, async (store) => {
        const r = await cancelWithdrawal(store, operator, wid, reason);
        out.data(opts.json ? toJson({ id: r.id, status: r.status }) : `withdrawal ${r.id}: cancelled`);
      }, signed?.signer);
    });
}
