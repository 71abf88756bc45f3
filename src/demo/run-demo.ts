/**
 * `coldpool demo`: the whole flow of DESIGN.md on a temporary SQLite database,
 * a throw-away regtest seed and simulated deposits, with no node and no
 * network; the verifier's step (token mailed, relayed, attested) runs on a
 * database of its own beside it, its mail kept in memory (demo-verifier.ts). The key work (restore, export, derive, inspect, sign) is done by
 * the real offline program spawned as a child process, so no key code enters
 * the online program's import graph (test/import-graph); everything else
 * calls the same flows as the CLI, against an in-memory chain (demo-chain.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crypto as bcrypto, payments } from 'bitcoinjs-lib';
import { formatBtc } from '../core/amount.js';
import { CodedError } from '../core/errors.js';
import { NETWORKS, toBitcoinjs } from '../core/network.js';
import { formatManifest } from '../core/payout-manifest.js';
import { PAYOUT } from '../core/payout-state.js';
import { parsePsbt } from '../core/psbt-inspect.js';
import { DEFAULT_POLICY } from '../core/withdrawal-policy.js';
import { signApproval } from '../core/approval.js';
import type { Approver } from '../core/ports.js';
import { emptyTrust, operatorById, TRUST_FILE_NAME, withOperator, withRequired, withVerifier } from '../core/trust.js';
import { generateOperatorKey, readOperatorKey, writeOperatorKey } from '../trust/operator-key.js';
import { readTrustFile, writeTrustFile } from '../trust/trust-file.js';
import { ChainFollower } from '../flows/chain-sync.js';
import { loadBatch } from '../flows/load-batch.js';
import { broadcastPayout, buildPayouts, followPayouts } from '../flows/payout.js';
import { requestWithdrawal } from '../flows/request-withdrawal.js';
import { openDatabase } from '../store/db.js';
import { DEMO_LABEL } from './label.js';
import { DemoChain, verifyInputs } from './demo-chain.js';
import { demoVerifierStep, type DemoAttestation } from './demo-verifier.js';

/** A published BIP39 test vector: anyone may know it, so nothing real may ever be sent to it. */
export const DEMO_MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
const OPERATOR = 'demo';
/** The numbered steps the demo prints (the progress lines say "[n/STEPS]"). */
const STEPS = 21;
const NET = toBitcoinjs(NETWORKS.regtest);

export interface DemoOptions {
  /** Keep the files here (created; must be empty) instead of a temporary directory that is removed. */
  readonly keep?: string;
  /** Progress for the person (stderr). */
  readonly say: (line: string) => void;
}

export interface DemoOutput {
  readonly withdrawal_id: string | null;
  readonly address: string;
  readonly amount_sat: bigint;
  readonly kind: 'withdrawal' | 'change';
}

export interface DemoResult {
  readonly dir: string;
  readonly kept: boolean;
  readonly descriptor: string;
  readonly addresses_loaded: number;
  readonly deposits: { user: string; address: string; amount_sat: bigint }[];
  readonly payout_id: bigint;
  readonly txid: string;
  readonly block: { height: number; hash: string };
  /** The spent outputs, with their scripts (hex), so the signatures can be checked independently. */
  readonly inputs: { txid: string; vout: number; amount_sat: bigint; script: string }[];
  /** The final signed transaction, hex. */
  readonly tx_hex: string;
  readonly outputs: DemoOutput[];
  readonly input_total_sat: bigint;
  readonly withdrawals_total_sat: bigint;
  readonly change_sat: bigint;
  readonly fee_sat: bigint;
  readonly vsize: number;
  readonly balanced: boolean;
  readonly verified: boolean;
  readonly status: string;
  readonly confirmations: number;
  readonly audit: { ok: boolean; entries: number };
  /** The verifier's step: its public key and each request's attestation in the web database. */
  readonly verifier: { public_key: string; key_id: string; attestations: DemoAttestation[] };
}

/** bin/coldpool-offline.js, beside bin/coldpool.js (from dist/demo/ or src/demo/: two levels up). */
function offlineBin(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'coldpool-offline.js');
}

/** Run the offline program; its stdout, or an error carrying its stderr. */
function offline(dir: string, args: readonly string[], stdin = ''): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [offlineBin(), ...args], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'config') } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(stdout);
      else reject(new CodedError('INTERNAL', `coldpool-offline ${args[0]} failed (exit ${code}): ${stderr.trim()}`));
    });
    child.stdin.end(stdin);
  });
}

/** A regtest P2WPKH address nobody holds a key to (a hash of a label): the demo's withdrawal destinations. */
function destination(label: string): string {
  return payments.p2wpkh({ hash: Buffer.from(bcrypto.sha256(Buffer.from(`coldpool demo destination ${label}`))).subarray(0, 20), network: NET }).address!;
}

function workDir(keep: string | undefined): string {
  if (keep === undefined) return mkdtempSync(join(tmpdir(), 'coldpool-demo-'));
  const dir = resolve(keep);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new CodedError('USAGE', `"--keep" expected a new or empty directory, got ${JSON.stringify(keep)}, which is not empty`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const dir = workDir(opts.keep);
  const kept = opts.keep !== undefined;
  let n = 0;
  const step = (what: string, proves: string): void => opts.say(`[${String(++n).padStart(2)}/${STEPS}] ${what} — ${proves}`);
  opts.say(`${DEMO_LABEL}`);
  opts.say(`working in ${dir}${kept ? ' (kept)' : ' (removed at the end)'}`);
  try {
    return await flow(dir, kept, step, opts.say);
  } finally {
    if (!kept) rmSync(dir, { recursive: true, force: true });
  }
}

async function flow(dir: string, kept: boolean, step: (what: string, proves: string) => void, say: (line: string) => void): Promise<DemoResult> {
  const keystore = join(dir, 'demo.keystore');
  const pw = join(dir, 'password.txt');
  writeFileSync(pw, `demo-only-${Buffer.from(bcrypto.sha256(Buffer.from(dir))).toString('hex').slice(0, 16)}\n`, { mode: 0o600 });
  await offline(dir, ['restore', '--keystore', keystore, '--network', 'regtest', '--password-file', pw, '--json'], `${DEMO_MNEMONIC}\n`);
  step('coldpool-offline restore: throw-away regtest keystore', 'the seed is sealed by the offline program; this process never holds it');

  const exported = JSON.parse(await offline(dir, ['export', '--keystore', keystore, '--password-file', pw, '--json'])) as { descriptor: string; fingerprint: string };
  const descriptor = exported.descriptor;
  step(`coldpool-offline export: ${descriptor.slice(0, 40)}…`, 'only the public account descriptor leaves the signer');

  const batch = join(dir, 'batch-000000.csv');
  await offline(dir, ['derive', '--descriptor', descriptor, '--network', 'regtest', '--from', '0', '--count', '1000', '--out', batch, '--json']);
  step('coldpool-offline derive: 1,000 receive addresses → batch-000000.csv', 'addresses come from the public descriptor, in a checksummed file');

  const db = `sqlite:${join(dir, 'coldpool.db')}`;
  const database = openDatabase(db);
  const { pool, chain: chainStore, payouts, withdrawals } = database;
  try {
    await database.migrate();
    const loaded = await loadBatch(pool, readFileSync(batch), { threads: 0 });
    if (loaded.kind !== 'loaded') throw new CodedError('INTERNAL', `demo: the batch was not loaded (${loaded.kind})`);
    step(`pool load: ${loaded.inserted} addresses in ${db}`, 'every address re-derived from the descriptor and compared before one is stored');

    const users = [['demo-alice', 50_000_000n], ['demo-bob', 25_000_000n], ['demo-carol', 10_000_000n]] as const;
    const claims: { user: string; address: string; amount_sat: bigint }[] = [];
    for (const [user, amount] of users) claims.push({ user, address: (await pool.claim(user)).address, amount_sat: amount });
    step(`pool claim: ${claims.map((c) => `${c.user} ${c.address}`).join(', ')}`, 'each user gets an address nobody else gets');

    const chain = new DemoChain();
    chain.mineEmpty(101); // the miner's first coinbase is mature
    chain.mine([chain.deposit(1, claims.map((c) => ({ script: payments.p2wpkh({ address: c.address, network: NET }).output!, valueSat: c.amount_sat })))]);
    chain.mineEmpty(2);
    step(`deposits: block ${chain.height - 2} pays ${claims.map((c) => `${formatBtc(c.amount_sat)} BTC`).join(', ')}; tip ${chain.height}`, 'real regtest blocks (merkle roots, witness commitment, proof of work), built from public data only');

    const sync = async (): Promise<{ blocks: number; outputs: number; spends: number }> => {
      const follower = await ChainFollower.open(chain, chainStore, { fromHeight: 0 });
      return follower.sync();
    };
    const s1 = await sync();
    const deposits = await chainStore.deposits();
    if (deposits.length !== claims.length) throw new CodedError('INTERNAL', `demo: ${deposits.length} deposit(s) found, expected ${claims.length}`);
    step(`chain sync: ${s1.blocks} blocks, ${s1.outputs} output(s) to the pool, ${deposits.map((d) => `${d.user ?? '?'} ${formatBtc(d.amountSat)} BTC`).join(', ')}`, 'the follower finds each deposit and credits the right user');

    const asks = [['w-1', 'demo-alice', 12_000_000n], ['w-2', 'demo-bob', 8_000_000n], ['w-3', 'demo-carol', 5_000_000n]] as const;
    const ids: bigint[] = [];
    for (const [app, user, sat] of asks) ids.push((await requestWithdrawal(withdrawals, { appId: app, user, address: destination(app), amountSat: sat })).withdrawal.id);
    step(`withdrawals request: ${asks.map(([app, , sat]) => `${app} ${formatBtc(sat)} BTC`).join(', ')}`, 'the web host can only queue requests, checked against the intake rules');

    // Flow 7: the verifier asks each user by mail and attests what they confirmed. The trust file below names its
    // key, so the payout pays only attested requests and the signer checks each output's attestation.
    const verified = await demoVerifierStep(dir, database, join(dir, 'coldpool.db'), Object.fromEntries(users.map(([u]) => [u, `${u}@example.com`])), ids, step, say);

    // Two operators, each with a key file sealed by a password file, and a trust file asking both: the approvals are signatures, not names.
    const operators = ['demo-op1', 'demo-op2'];
    let trust = emptyTrust('regtest');
    for (const name of operators) {
      writeFileSync(join(dir, `${name}.password`), `${name} demo password\n`, { mode: 0o600 });
      const key = await writeOperatorKey(join(dir, `${name}.operator-key`), generateOperatorKey(name), `${name} demo password`);
      trust = withOperator(trust, { name, publicKey: key.publicKey });
    }
    const trustFile = join(dir, TRUST_FILE_NAME);
    writeTrustFile(trustFile, withVerifier(withRequired(trust, 2), verified.publicKey), { replace: false });
    trust = readTrustFile(trustFile);
    step(`operator keygen --name ${operators.join(' / ')}; trust add-operator ×2 --required 2; trust set-verifier → ${TRUST_FILE_NAME}`, 'each operator\'s Ed25519 key is sealed in a file of its own; the trust file lists their public keys, asks for 2 distinct signatures, and names the verifier whose attestation every output needs');

    await withdrawals.observe(OPERATOR);
    for (const name of operators) {
      const key = await readOperatorKey(join(dir, `${name}.operator-key`), readFileSync(join(dir, `${name}.password`), 'utf8').split('\n')[0]!);
      const approver: Approver = { operator: operatorById(trust, key.id)!, trust, sign: (c) => signApproval(c, key.privateKey) };
      for (const id of ids) {
        const r = await withdrawals.approve(id, approver, DEFAULT_POLICY);
        const expected = name === operators[0] ? 'requested' : 'approved';
        if (r.status !== expected) throw new CodedError('INTERNAL', `demo: withdrawal ${id} is ${r.status} after ${name}'s approval, expected ${expected}`);
      }
    }
    step(`withdrawals approve ${ids.join(' ')} --key demo-op1.operator-key, then --key demo-op2.operator-key`, 'each approval is a signature over the request\'s exact content; approved only with two distinct trusted keys');

    const [rec] = await buildPayouts(payouts, chainStore, chain, { actor: OPERATOR, feeRateSatKvb: 2_000n, trust });
    if (!rec) throw new CodedError('INTERNAL', 'demo: no payout built');
    if (!rec.manifest.outputs.every((o) => o.approval?.signatures.length === 2)) throw new CodedError('INTERNAL', 'demo: a manifest output lacks its two approvals');
    const psbtFile = join(dir, 'payout.psbt');
    const manifestFile = join(dir, 'payout.manifest.json');
    writeFileSync(psbtFile, `${rec.built.psbt.toBase64()}\n`);
    writeFileSync(manifestFile, formatManifest(rec.manifest));
    step(`payout build: payout ${rec.id}, ${rec.built.inputs.length} input(s), ${rec.built.outputs.length} withdrawal(s), fee ${rec.built.feeSat} sat, unsigned txid ${rec.built.unsignedTxid}`, 'one PSBT for what the two operators signed, each output carrying its approvals; the withdrawals are locked to it');

    const review = JSON.parse(await offline(dir, ['inspect', psbtFile, '--descriptor', descriptor, '--network', 'regtest', '--manifest', manifestFile, '--json'])) as { findings: { severity: string; message?: string }[]; unsigned_txid: string };
    const refusals = review.findings.filter((f) => f.severity === 'refuse');
    if (refusals.length > 0 || review.unsigned_txid !== rec.built.unsignedTxid) throw new CodedError('INTERNAL', `demo: inspect found ${JSON.stringify(refusals)}`);
    step('coldpool-offline inspect --manifest', 'the signer sees every input ours, change recognised by derivation, outputs exactly the manifest');

    const signedFile = join(dir, 'payout.signed.psbt');
    await offline(dir, ['sign', psbtFile, '--keystore', keystore, '--password-file', pw, '--manifest', manifestFile, '--out', signedFile, '--log', join(dir, 'sign-log.jsonl'), '--trust', trustFile, '--new-log', '--yes', '--json']);
    step('coldpool-offline sign --manifest --yes → payout.signed.psbt', 'the key signs only what the manifest lists, and logs it on the signer\'s disk');

    const b = await broadcastPayout(payouts, chain, parsePsbt(readFileSync(signedFile)), OPERATOR);
    step(`payout broadcast: ${b.txid} (test accept: ${b.testAccept?.allowed ? 'allowed' : 'n/a'})`, 'the signed PSBT is the payout that was built, every signature verifies');

    const mined = chain.mineMempool();
    const tx = chain.findTx(b.txid)!;
    const s2 = await sync();
    step(`mined in block ${mined.height}; chain sync: ${s2.blocks} block(s), ${s2.spends} spend(s), ${s2.outputs} output(s) (the change)`, 'the chain record sees the pool\'s coins spent by the payout');

    const states = await followPayouts(payouts, OPERATOR);
    const state = states.find((p) => p.id === rec.id)!;
    if (state.status !== PAYOUT.confirmed) throw new CodedError('INTERNAL', `demo: payout ${rec.id} is ${state.status}, not confirmed`);
    step(`payout status: payout ${state.id} ${state.status}, ${state.confirmations} confirmation(s); withdrawals ${state.withdrawals.map((w) => `${w.id} ${w.status}`).join(', ')}`, 'each withdrawal is paid exactly once, and the record says by which txid');

    const prevouts = chain.prevouts(tx);
    const bad = verifyInputs(tx, prevouts);
    const inputTotal = prevouts.reduce((s, p) => s + p.valueSat, 0n);
    const changeSat = rec.built.change?.amountSat ?? 0n;
    const paid = rec.built.outputs.reduce((s, o) => s + o.amountSat, 0n);
    const fee = inputTotal - tx.outs.reduce((s, o) => s + o.value, 0n);
    const balanced = inputTotal === paid + changeSat + fee && fee === rec.built.feeSat && inputTotal === rec.built.inputTotalSat;
    const audit = await withdrawals.verifyAudit();
    step(`audit verify: ${audit.ok ? `ok, ${audit.count} entries` : `BROKEN: ${audit.message}`}`, 'every decision is in a hash-chained, append-only log');
    if (bad !== undefined || !balanced || !audit.ok) throw new CodedError('INTERNAL', `demo: the final transaction does not check out (${bad ?? (balanced ? 'audit' : 'balance')})`);

    const changeAddress = rec.built.change?.address;
    return {
      dir, kept, descriptor, addresses_loaded: loaded.inserted, deposits: claims, payout_id: rec.id, txid: b.txid,
      block: { height: mined.height, hash: mined.hash },
      inputs: tx.ins.map((i, k) => ({ txid: Buffer.from(i.hash).reverse().toString('hex'), vout: i.index, amount_sat: prevouts[k]!.valueSat, script: prevouts[k]!.script.toString('hex') })),
      tx_hex: tx.toHex(),
      outputs: [
        ...rec.built.outputs.map((o): DemoOutput => ({ withdrawal_id: o.withdrawalId.toString(), address: o.address, amount_sat: o.amountSat, kind: 'withdrawal' })),
        ...(changeAddress ? [{ withdrawal_id: null, address: changeAddress, amount_sat: changeSat, kind: 'change' } satisfies DemoOutput] : []),
      ],
      input_total_sat: inputTotal, withdrawals_total_sat: paid, change_sat: changeSat, fee_sat: fee, vsize: tx.virtualSize(),
      balanced, verified: bad === undefined, status: state.status, confirmations: state.confirmations, audit: { ok: audit.ok, entries: audit.count },
      verifier: { public_key: verified.publicKey, key_id: verified.keyId, attestations: verified.attestations },
    };
  } finally {
    await database.close();
  }
}

/** The closing lines: txid, the balance equation, verification. */
export function summaryLines(r: DemoResult): string[] {
  return [
    `final txid ${r.txid} (block ${r.block.height}, ${r.confirmations} confirmation(s), ${r.vsize} vB)`,
    `inputs ${r.input_total_sat} = withdrawals ${r.withdrawals_total_sat} + change ${r.change_sat} + fee ${r.fee_sat} sat  ${r.balanced ? '(balances exactly)' : '(DOES NOT BALANCE)'}`,
    `signatures: ${r.verified ? 'every input verifies (P2WPKH, SIGHASH_ALL)' : 'DO NOT VERIFY'}; audit chain ${r.audit.ok ? 'ok' : 'BROKEN'} (${r.audit.entries} entries)`,
    `verifier ${r.verifier.key_id}: ${r.verifier.attestations.filter((a) => a.verified).length} of ${r.verifier.attestations.length} request(s) attested with a signature that verifies`,
    r.kept ? `files kept in ${r.dir}: coldpool.db, verifier.db, demo.keystore, payout.psbt, payout.signed.psbt, …` : `temporary directory ${r.dir} removed (use --keep DIR to look at the files)`,
  ];
}
