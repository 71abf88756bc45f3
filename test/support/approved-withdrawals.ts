/**
 * Approved withdrawals put in through the library functions the CLIs call
 * (`requestWithdrawal`, first sight, `approve` with a real Ed25519 signature):
 * for tests about what a payout does with many of them, where approving
 * each through a CLI process would be the whole run time.
 */
import type { Approver } from '../../src/core/ports.js';
import type { RequestInput } from '../../src/core/withdrawal-rules.js';
import { DEFAULT_POLICY } from '../../src/core/withdrawal-policy.js';
import { requestWithdrawal } from '../../src/flows/request-withdrawal.js';
import { openWithdrawalStore } from './open-repos.js';

/** Request each of `requests`, let `seenBy` see them, and have every approver of `approvers` approve each; returns their ids in order. */
export async function approveWithdrawals(url: string, requests: readonly RequestInput[], approvers: readonly Approver[], seenBy = 'op'): Promise<bigint[]> {
  const store = openWithdrawalStore(url);
  try {
    const ids: bigint[] = [];
    for (const r of requests) ids.push((await requestWithdrawal(store, r)).withdrawal.id);
    await store.observe(seenBy);
    for (const a of approvers) for (const id of ids) await store.approve(id, a, DEFAULT_POLICY);
    return ids;
  } finally {
    await store.close();
  }
}
