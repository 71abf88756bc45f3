// Approve benchmark: 1,000 requests approved by two operators (trust file
// asking 2). Measures (1) the signing and verification work alone: build each
// request's canonical content, sign it with both keys, weigh the stored
// approvals under the trust file as `approve` and `payout build` do; (2) the
// whole `withdrawals approve` flow on SQLite (one transaction per request:
// lock, flags, sign, store, weigh, audit) for context. Run: npm run build && node bench/approve.js
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bech32 } from 'bech32';
import { approvalContentFor, approvalContentJson, signApproval } from '../dist/core/approval.js';
import { approvalStanding, payability } from '../dist/core/approval-standing.js';
import { keyIdOf, publicKeyHex } from '../dist/core/ed25519.js';
import { NETWORKS } from '../dist/core/network.js';
import { emptyTrust, operatorById, withOperator, withRequired } from '../dist/core/trust.js';
import { DEFAULT_POLICY } from '../dist/core/withdrawal-policy.js';
import { approveWithdrawals } from '../dist/flows/review-withdrawals.js';
import { requestWithdrawal } from '../dist/flows/request-withdrawal.js';
import { openDatabase } from '../dist/store/db.js';

const N = Number(process.env.BENCH_REQUESTS ?? 1_000);
const net = NETWORKS.testnet;
const dest = (i) => bech32.encode('tb', [0, ...bech32.toWords(Buffer.from((i + 1).toString(16).padStart(40, '0'), 'hex'))]);
const keys = ['op1', 'op2'].map((name) => ({ name, key: generateKeyPairSync('ed25519').privateKey }));
let trust = emptyTrust('testnet');
for (const k of keys) trust = withOperator(trust, { name: k.name, publicKey: publicKeyHex(k.key) });
trust = withRequired(trust, 2);
const approvers = keys.map((k) => ({ operator: operatorById(trust, keyIdOf(publicKeyHex(k.key))), trust, sign: (c) => signApproval(c, k.key) }));

// (1) the crypto alone
const requests = Array.from({ length: N }, (_, i) => ({ id: BigInt(i + 1), appId: `a-${i}`, user: `u${i % 50}`, destination: dest(i), amountSat: 100_000n + BigInt(i), createdAt: '2026-01-01T00:00:00.000Z' }));
let t = performance.now();
const stored = requests.map((r) => {
  const c = approvalContentFor(net, r, 'f'.repeat(64));
  const text = JSON.stringify(approvalContentJson(c));
  return { r, approvals: approvers.map((a) => ({ keyId: a.operator.id, operator: a.operator.name, content: text, signature: a.sign(c) })) };
});
const signMs = performance.now() - t;
t = performance.now();
for (const s of stored) if (!approvalStanding(trust, approvalContentFor(net, s.r, 'f'.repeat(64)), s.approvals).covered) throw new Error('not covered');
const weighMs = performance.now() - t;
t = performance.now();
for (const s of stored) if (!payability(net, trust, { request: s.r, seenFingerprint: 'f'.repeat(64), approvals: s.approvals }).payable) throw new Error('not payable');
const buildMs = performance.now() - t;
console.log(`approve crypto: ${N.toLocaleString('en')} requests × 2 operators: content + 2 signatures ${Math.round(signMs)} ms; weigh under the trust file (2 verifies each, as approve does) ${Math.round(weighMs)} ms; build's check (payability) ${Math.round(buildMs)} ms`);

// (2) the whole flow on SQLite
const dir = mkdtempSync(join(tmpdir(), 'coldpool-bench-approve-'));
try {
  const url = `sqlite:${join(dir, 'approve.db')}`;
  const db = openDatabase(url, { network: 'testnet' });
  await db.migrate();
  const ids = [];
  for (let i = 0; i < N; i++) ids.push((await requestWithdrawal(db.withdrawals, { appId: `a-${i}`, user: `u${i % 50}`, address: dest(i), amountSat: 100_000n + BigInt(i) })).withdrawal.id);
  const times = [];
  for (const a of approvers) {
    t = performance.now();
    const results = await approveWithdrawals(db.withdrawals, a, DEFAULT_POLICY, ids);
    times.push(performance.now() - t);
    const bad = results.find((r) => r.error);
    if (bad) throw bad.error;
  }
  const approved = (await db.withdrawals.totals('approved')).count;
  await db.close();
  if (approved !== N) throw new Error(`${approved} approved`);
  console.log(`approve sqlite: ${N.toLocaleString('en')} requests, first operator ${Math.round(times[0])} ms (first read included), second operator ${Math.round(times[1])} ms (each: one transaction per request: lock, flags, sign, store, weigh, audit)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
