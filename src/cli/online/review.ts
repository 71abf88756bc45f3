import type { Separator } from '@inquirer/prompts';

/** Loaded when the screen opens: the prompts library costs every other command's start-up ~0.1 s. */
let prompts: typeof import('@inquirer/prompts');
import { Command } from 'commander';
import { formatBtc } from '../../core/amount.js';
import { CodedError } from '../../core/errors.js';
import { requiredApprovals } from '../../core/trust.js';
import { attestationCell, attestationText, type AttestationView } from '../../core/attestation-view.js';
import { keyIdOf } from '../../core/ed25519.js';
import type { WithdrawalPolicy } from '../../core/withdrawal-policy.js';
import type { Approver, ReviewedWithdrawal, WithdrawalStore } from '../../core/ports.js';
import {
  approveUnflagged, approveWithdrawal, attestationViews, isRefusal, observeQueue, pendingPage, rejectPending, unflaggedPending, withdrawalDetail,
} from '../../flows/review-withdrawals.js';
import type { Output } from '../output.js';
import { parseIntegerOption } from '../run.js';
import { addApproverOptions, addOperatorOptions, approverOf, withStore, type OperatorOptions } from './withdrawal-context.js';
import { configOf, policyOf } from './config.js';

type MenuChoice = { kind: 'open'; id: bigint } | { kind: 'next' | 'prev' | 'unflagged' | 'refresh' | 'quit' };
type Decision = 'approve' | 'reject' | 'skip';

/** `coldpool review`: the operator's interactive screen over the pending requests. */
export function registerReview(program: Command, out: Output): void {
  addApproverOptions(addOperatorOptions(program.command('review')))
    .summary('the interactive review screen: pending requests with flags; approve, reject with a reason, skip')
    .description(
      'Page through the pending withdrawal requests with their risk flags and totals; open one to see the\n' +
        'user\'s history and the destination\'s history, then approve, reject (a reason is required) or skip.\n' +
        '"Approve all unflagged" approves only requests with no flag at all. Every decision is audited.\n' +
        'Approvals are signed with your operator key (--key, the password asked once when the screen opens) and\n' +
        'count only under the trust file (--trust); rejecting needs no key.\n' +
        'Scripts use `coldpool withdrawals list|approve|reject` instead.',
    )
    .option('--page-size <n>', 'requests per page', '20')
    .action(async (opts: OperatorOptions & { pageSize: string; passwordFile?: string }, cmd: Command) => {
      const pageSize = parseIntegerOption('--page-size', opts.pageSize, 1, 500);
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        throw new CodedError('USAGE', '`coldpool review` needs a terminal', { hint: 'in scripts use `coldpool withdrawals list --json`, `approve ID…`, `reject ID --reason R`' });
      }
      const { policy, source } = policyOf(configOf(cmd));
      const approver = await approverOf(cmd, opts.passwordFile);
      const operator = approver.operator.name;
      prompts = await import('@inquirer/prompts');
      await withStore(cmd, async (store) => {
        try {
          await reviewLoop(store, { operator, approver, policy, pageSize, out, policySource: source });
        } catch (e) {
          if (e instanceof Error && e.name === 'ExitPromptError') throw new CodedError('CANCELLED', 'review cancelled');
          throw e;
        }
      }, approver.audit);
    });
}

interface ReviewContext {
  readonly operator: string;
  readonly approver: Approver;
  readonly policy: WithdrawalPolicy;
  readonly policySource: string;
  readonly pageSize: number;
  readonly out: Output;
}

function line(w: ReviewedWithdrawal, ctx: ReviewContext, view: AttestationView): string {
  const flags = w.flags.length === 0 ? 'no flags' : w.flags.map((f) => f.code).join(', ');
  const approvals = w.approvals.length > 0 ? `  approved by ${w.approvals.join(', ')}` : '';
  // Approving before the user confirmed is allowed; the list says so, so nobody mistakes it for a confirmed request.
  const attested = ctx.approver.trust.verifier ? `  attestation: ${attestationCell(view)}` : '';
  return `#${w.id}  ${w.user}  ${formatBtc(w.amountSat)} BTC  ${w.destination} (${w.outputType ?? '?'})  [${flags}]${approvals}${attested}`;
}

async function reviewLoop(store: WithdrawalStore, ctx: ReviewContext): Promise<void> {
  const starts: (bigint | undefined)[] = [undefined];
  let page = 0;
  const observed = await observeQueue(store, ctx.operator);
  for (const i of observed.invalid) ctx.out.say(`marked invalid: withdrawal ${i.id}: ${i.message}`);
  ctx.out.say(`operator ${ctx.operator} (key ${ctx.approver.operator.id}), policy ${ctx.policySource}, trust file: ${ctx.approver.trust.approvals.required} distinct operator(s); the policy asks ${ctx.policy.approvalsRequired}; ${ctx.approver.trust.verifier ? `payouts wait for verifier ${keyIdOf(ctx.approver.trust.verifier.publicKey)}'s attestation` : 'no verifier configured'}`);
  for (;;) {
    const { totals, rows } = await pendingPage(store, ctx.policy, starts[page], ctx.pageSize + 1);
    const more = rows.length > ctx.pageSize;
    const shown = rows.slice(0, ctx.pageSize);
    const flagged = shown.filter((w) => w.flags.length > 0).length;
    const pages = Math.max(1, Math.ceil(totals.count / ctx.pageSize));
    const views = await attestationViews(store, ctx.approver.trust, shown);
    const choices: ({ value: MenuChoice; name: string } | Separator)[] = shown.map((w, k) => ({ value: { kind: 'open', id: w.id }, name: line(w, ctx, views[k]!) }));
    choices.push(new prompts.Separator());
    if (more) choices.push({ value: { kind: 'next' }, name: 'Next page' });
    if (page > 0) choices.push({ value: { kind: 'prev' }, name: 'Previous page' });
    choices.push({ value: { kind: 'unflagged' }, name: 'Approve all unflagged (every pending request without a flag)' });
    choices.push({ value: { kind: 'refresh' }, name: 'Refresh' });
    choices.push({ value: { kind: 'quit' }, name: 'Quit' });
    const choice = await prompts.select<MenuChoice>({
      message: `Pending: ${totals.count} requests, ${formatBtc(totals.amountSat)} BTC; page ${page + 1}/${pages}, ${flagged} of ${shown.length} flagged`,
      choices,
      pageSize: Math.min(40, choices.length),
      loop: false,
    });
    if (choice.kind === 'quit') return;
    if (choice.kind === 'next') (starts[page + 1] = shown[shown.length - 1]?.id, page++);
    else if (choice.kind === 'prev') page--;
    else if (choice.kind === 'refresh') await observeQueue(store, ctx.operator);
    else if (choice.kind === 'unflagged') await confirmUnflagged(store, ctx);
    else if (choice.kind === 'open') await detail(store, ctx, choice.id);
  }
}

async function detail(store: WithdrawalStore, ctx: ReviewContext, id: bigint): Promise<void> {
  const found = await withdrawalDetail(store, ctx.policy, id);
  if (!found) return ctx.out.say(`withdrawal ${id} is gone`);
  const { withdrawal: w, userHistory: history, destinationHistory: dest } = found;
  const say = (s: string) => ctx.out.say(s);
  say('');
  say(`Withdrawal #${w.id} (app id ${w.appId})`);
  say(`  user         ${w.user}`);
  say(`  amount       ${formatBtc(w.amountSat)} BTC (${w.amountSat} sat)`);
  say(`  destination  ${w.destination} (${w.outputType ?? 'unparseable'})`);
  say(`  created      ${w.createdAt}`);
  say(`  status       ${w.status}; approvals ${w.approvals.length}/${Math.max(ctx.policy.approvalsRequired, requiredApprovals(ctx.approver.trust, w.amountSat))}${w.approvals.length ? ` (${w.approvals.join(', ')})` : ''}`);
  say(`  attestation  ${attestationText((await attestationViews(store, ctx.approver.trust, [w]))[0]!)}`);
  say(w.flags.length === 0 ? '  flags        none' : `  flags:\n${w.flags.map((f) => `    ! ${f.code}: ${f.detail}`).join('\n')}`);
  say(`  user history (${history.length} shown, latest last):`);
  for (const h of history) say(`    #${h.id} ${h.createdAt} ${formatBtc(h.amountSat)} BTC → ${h.destination} ${h.status}`);
  say(`  destination history (${dest.length} shown):`);
  for (const h of dest) say(`    #${h.id} ${h.createdAt} ${h.user} ${formatBtc(h.amountSat)} BTC ${h.status}`);
  say('');
  const decision = await prompts.select<Decision>({
    message: `Decide on #${w.id}`,
    choices: [
      { value: 'approve', name: 'Approve' },
      { value: 'reject', name: 'Reject (with a reason)' },
      { value: 'skip', name: 'Skip (back to the list)' },
    ],
  });
  try {
    if (decision === 'approve') {
      const changed = w.flags.some((f) => f.code === 'changed_since_first_seen');
      let override = false;
      if (changed) {
        override = await prompts.confirm({ message: `#${w.id} CHANGED since first seen. Approve anyway? (override, recorded in the audit log)`, default: false });
        if (!override) return say(`#${w.id}: not approved`);
      }
      const r = await approveWithdrawal(store, ctx.approver, ctx.policy, w.id, { overrideChanged: override });
      say(`#${w.id}: ${r.status} (${r.approvals.length}/${r.approvalsRequired} approvals)`);
    } else if (decision === 'reject') {
      const reason = await prompts.input({ message: `Reason for rejecting #${w.id}:`, validate: (v) => v.trim() !== '' || 'a reason is required' });
      await rejectPending(store, ctx.operator, w.id, reason);
      say(`#${w.id}: rejected`);
    }
  } catch (e) {
    if (!isRefusal(e)) throw e;
    say(`#${w.id}: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
  }
}

async function confirmUnflagged(store: WithdrawalStore, ctx: ReviewContext): Promise<void> {
  const ids = await unflaggedPending(store, ctx.operator, ctx.policy);
  if (ids.length === 0) return ctx.out.say('no pending request is free of flags');
  const total = ids.reduce((s, w) => s + w.amountSat, 0n);
  if (!(await prompts.confirm({ message: `Approve ${ids.length} unflagged request(s), ${formatBtc(total)} BTC in total?`, default: false }))) return;
  let done = 0;
  await approveUnflagged(store, ctx.approver, ctx.policy, ids.map((w) => w.id), {
    onResult: (r) => {
      if (r.error) ctx.out.say(`#${r.id}: ${r.error.message}`);
      else done++;
    },
  });
  ctx.out.say(`approved ${done} of ${ids.length}`);
}
