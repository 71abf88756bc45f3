/**
 * The signer half of issue 12, through the real, built `coldpool-offline`:
 * with a trust file every external output must carry enough valid
 * signatures of distinct trusted operators over exactly its script and
 * amount, and the signer's own caps (per payout, per rolling 24 h from its
 * sign log) hold even for valid approvals. Each refusal: exit 3, the output
 * named, no --out file, nothing logged.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Psbt } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PayoutManifest } from '../src/core/payout-manifest.js';
import { LOCK_WAIT_MS, lockPathOf } from '../src/io/file-lock.js';
import { runCli, tempDir, type CliResult } from './support/cli.js';
import { electrumUnavailable, SYSTEM_PYTHON } from './support/electrum.js';
import {
  approved, buildPayout, contentFor, externalAddress, manifestText, scriptOf, testOperator, trustOf, trustText, fixtureSigner, writeFixtureKeystore, type ApproveSpec, type Payout,
} from './support/psbt-fixtures.js';

const PASSWORD = 'correct horse battery';
let dir: string;
let keystore: string;
let passwordFile: string;
let trustFile: string;
let n = 0;

beforeAll(async () => {
  dir = tempDir('coldpool-signer-approvals-');
  ({ keystore, passwordFile } = await fixtureSigner(dir, PASSWORD));
  // alice, bob and carol are trusted, two of them per withdrawal; mallory is not in the file.
  trustFile = join(dir, 'coldpool-trust.json');
  writeFileSync(trustFile, trustText(trustOf(['alice', 'bob', 'carol'], 2)));
});

interface Run { r: CliResult; out: string; log: string; psbt: string; manifest: string | undefined }

function write(name: string, text: string): string {
  const path = join(dir, `${++n}-${name}`);
  writeFileSync(path, text);
  return path;
}

/** `coldpool-offline sign` with the trust file; a log that does not exist yet is started with --new-log unless `newLog: false`. */
async function sign(p: Payout, manifest: PayoutManifest | undefined, extra: string[] = [], opts: { trust?: boolean; log?: string; json?: boolean; newLog?: boolean } = {}): Promise<Run> {
  const psbt = write('payout.psbt', `${p.psbt.toBase64()}\n`);
  const m = manifest === undefined ? undefined : write('manifest.json', manifestText(manifest));
  const out = join(dir, `${++n}-signed.psbt`);
  const log = opts.log ?? join(dir, `${++n}-sign.jsonl`);
  const r = await runCli('coldpool-offline', [
    'sign', psbt, '--keystore', keystore, '--password-file', passwordFile, '--out', out, '--log', log, '--yes',
    ...(opts.json === false ? [] : ['--json']), ...(opts.newLog !== false && !existsSync(log) ? ['--new-log'] : []), ...(opts.trust === false ? [] : ['--trust', trustFile]), ...(m ? ['--manifest', m] : []), ...extra,
  ]);
  return { r, out, log, psbt, manifest: m };
}

interface Refused { code: string; message: string; context?: { findings?: { code: string; message: string; output?: number }[] } }

function refused(run: Run): Refused {
  expect(run.r.code, run.r.stderr).toBe(3);
  expect(run.r.stdout).toBe('');
  expect(existsSync(run.out)).toBe(false);
  return (JSON.parse(run.r.stderr) as { error: Refused }).error;
}

function finding(run: Run, code: string): { message: string; output?: number } {
  const err = refused(run);
  const hit = err.context?.findings?.find((f) => f.code === code);
  expect(hit, JSON.stringify(err)).toBeDefined();
  return hit!;
}

const alice = (): ReturnType<typeof testOperator> => testOperator('alice');
const bob = (): ReturnType<typeof testOperator> => testOperator('bob');
const mallory = (): ReturnType<typeof testOperator> => testOperator('mallory');
const OUT0 = /output 0 \(bcrt1q\w+, 120000 sat\)/;

const verify = (pubkey: Uint8Array, msghash: Uint8Array, signature: Uint8Array): boolean => ecc.verify(msghash, pubkey, signature);

describe('coldpool-offline sign --trust: the valid case', () => {
  it('two trusted operators per output: signs, shows who approved, logs the trust file and the external total', async () => {
    const p = buildPayout();
    const run = await sign(p, approved(p));
    expect(run.r.code, run.r.stderr).toBe(0);
    expect(run.r.stderr).toBe(''); // no "approvals were NOT checked" warning
    const result = JSON.parse(run.r.stdout) as { trust: string; review: { outputs: { kind: string; approval?: { withdrawal_id: string; approvers: { operator: string; valid: boolean }[]; required: number; covered: boolean } | null }[]; findings: unknown[] } };
    expect(result.trust).toBe(trustFile);
    expect(result.review.findings).toEqual([]);
    expect(result.review.outputs.map((o) => o.approval?.covered)).toEqual([true, true, undefined]); // change needs none
    expect(result.review.outputs[0]!.approval).toEqual({
      withdrawal_id: '1', required: 2, covered: true, mismatch: null,
      approvers: [{ key_id: alice().id, operator: 'alice', valid: true, problem: null }, { key_id: bob().id, operator: 'bob', valid: true, problem: null }],
    });
    const signed = Psbt.fromBase64(readFileSync(run.out, 'utf8').trim());
    expect(signed.validateSignaturesOfAllInputs(verify)).toBe(true);
    const [line] = readFileSync(run.log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(line).toMatchObject({ trust: trustFile, external_total_sat: '200000' });
    expect((line!.inputs as string[])).toHaveLength(2);
    expect(line!.outputs).toEqual([
      expect.objectContaining({ amount_sat: '120000', kind: 'external', approval_id: '1', approved_by: [alice().id, bob().id] }),
      expect.objectContaining({ amount_sat: '80000', kind: 'external', approval_id: '2' }),
      expect.not.objectContaining({ approval_id: expect.anything() }),
    ]);
  });

  const skip = electrumUnavailable();
  it.skipIf(skip !== undefined)(`Electrum verifies every signature of the approved payout${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const p = buildPayout();
    const run = await sign(p, approved(p));
    expect(run.r.code, run.r.stderr).toBe(0);
    const tool = fileURLToPath(new URL('./electrum/psbt_tool.py', import.meta.url));
    const res = await new Promise<{ checked: number; valid: number }[]>((resolve, reject) => {
      const child = execFile(SYSTEM_PYTHON, [tool], { timeout: 120_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as { checked: number; valid: number }[])));
      child.stdin!.end(JSON.stringify([{ op: 'verify', net: 'regtest', psbt: readFileSync(run.out, 'utf8').trim() }]));
    });
    expect(res[0]).toMatchObject({ checked: 2, valid: 2 });
  });

  it('the trust file and the caps may come from the signer config beside the keystore (relative path)', async () => {
    const sub = tempDir('coldpool-signer-config-');
    const ks = join(sub, 'cold.keystore');
    await writeFixtureKeystore(ks, PASSWORD);
    writeFileSync(join(sub, 'coldpool-trust.json'), readFileSync(trustFile));
    writeFileSync(join(sub, 'coldpool-signer.json'), '{"trust": "coldpool-trust.json", "max_payout_sat": "150000"}\n');
    const p = buildPayout();
    const psbt = join(sub, 'p.psbt');
    writeFileSync(psbt, p.psbt.toBase64());
    const manifest = join(sub, 'm.json');
    const out = join(sub, 'signed.psbt');
    writeFileSync(manifest, manifestText(approved(p)));
    const r = await runCli('coldpool-offline', ['sign', psbt, '--keystore', ks, '--password-file', passwordFile, '--manifest', manifest, '--out', out, '--new-log', '--yes']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/PAYOUT_CAP: the payout sends 200000 sat to external outputs \(output 0 120000 sat, output 1 80000 sat\), above the signer's cap of 150000 sat per payout/);
    expect(r.stdout).toMatch(/approvals:\n {2}output 0: withdrawal 1 by alice ok, bob ok: covered, 2 of 2 required/);
    expect(existsSync(out)).toBe(false);
    // and without the manifest, the config's trust file alone makes the signer refuse
    const r2 = await runCli('coldpool-offline', ['sign', psbt, '--keystore', ks, '--password-file', passwordFile, '--out', out, '--yes']);
    expect(r2.code).toBe(3);
    expect(r2.stderr).toMatch(/a trust file is in use \(.*coldpool-trust\.json\) and no --manifest was given/);
    expect(existsSync(out)).toBe(false);
  });
});

interface Case { name: string; manifest: (p: Payout) => PayoutManifest; code: string; message: RegExp; payout?: () => Payout }

const spec = (s: ApproveSpec) => (p: Payout): PayoutManifest => approved(p, s);

const CASES: Case[] = [
  { name: 'an output with no approval', manifest: spec({ skip: (k) => k === 1 }), code: 'APPROVAL_MISSING', message: /^output 1 \(bcrt1q\w+, 80000 sat\): no approval/ },
  { name: 'approvals by an unknown key', manifest: spec({ signers: () => [mallory()] }), code: 'APPROVAL_UNKNOWN_KEY', message: new RegExp(`${OUT0.source}: approvals by an unknown key: 0 of 2 distinct trusted operators \\(approval\\(s\\) by unknown key\\(s\\) ${mallory().id}\\)`) },
  {
    name: 'a signature over a different amount (the carried content edited to match the output)',
    manifest: spec({ signed: (o, k) => ({ ...contentFor(o, k), amountSat: o.amountSat - 20_000n }), carried: (c) => ({ ...c, amountSat: c.amountSat + 20_000n }) }),
    code: 'APPROVAL_BAD_SIGNATURE', message: new RegExp(`${OUT0.source}: signature over a different amount, script or request: 0 of 2 .*signature\\(s\\) by alice, bob not over this content`),
  },
  {
    name: 'an approval for a different amount (the content as signed)',
    manifest: spec({ signed: (o, k) => ({ ...contentFor(o, k), amountSat: k === 0 ? 100_000n : o.amountSat }) }),
    code: 'APPROVAL_MISMATCH', message: new RegExp(`${OUT0.source}: the approval is for 100000 sat, the output pays 120000 sat`),
  },
  {
    name: 'a signature over a different script (the carried content edited to match the output)',
    manifest: spec({ signed: (o, k) => ({ ...contentFor(o, k), script: scriptOf(externalAddress(9)).toString('hex') }), carried: (c, k) => ({ ...c, script: k === 0 ? scriptOf(externalAddress(0)).toString('hex') : scriptOf(externalAddress(1)).toString('hex') }) }),
    code: 'APPROVAL_BAD_SIGNATURE', message: new RegExp(`${OUT0.source}: signature over a different amount, script or request`),
  },
  {
    name: 'an approval for a different script (the content as signed)',
    manifest: spec({ signed: (o, k) => ({ ...contentFor(o, k), script: scriptOf(externalAddress(9)).toString('hex') }) }),
    code: 'APPROVAL_MISMATCH', message: new RegExp(`${OUT0.source}: the approval is for script ${scriptOf(externalAddress(9)).toString('hex')}, the output pays script`),
  },
  {
    name: 'an approval for another network',
    manifest: spec({ signed: (o, k) => ({ ...contentFor(o, k), network: 'testnet' }) }),
    code: 'APPROVAL_MISMATCH', message: new RegExp(`${OUT0.source}: the approval is for testnet, the signer is regtest`),
  },
  { name: 'too few distinct operators', manifest: spec({ signers: () => [alice()] }), code: 'APPROVALS_TOO_FEW', message: new RegExp(`${OUT0.source}: too few distinct operators: 1 of 2 distinct trusted operators$`) },
  {
    name: 'two signatures by one key count once',
    manifest: spec({ signers: () => [alice(), alice()] }),
    code: 'APPROVALS_TOO_FEW', message: new RegExp(`${OUT0.source}: too few distinct operators: 1 of 2 .*a second signature by alice counts once`),
  },
  {
    name: 'one trusted operator and one unknown key',
    manifest: spec({ signers: () => [alice(), mallory()] }),
    code: 'APPROVALS_TOO_FEW', message: new RegExp(`${OUT0.source}: too few distinct operators: 1 of 2 .*unknown key\\(s\\) ${mallory().id}`),
  },
  {
    name: 'one approval copied onto a second output to the same address',
    payout: () => buildPayout({ outputs: [{ address: externalAddress(0), value: 120_000n }, { address: externalAddress(0), value: 120_000n }] }),
    manifest: spec({ signed: (o) => contentFor(o, 0) }),
    code: 'APPROVAL_REUSED', message: /^output 1 \(bcrt1q\w+, 120000 sat\): the approval of withdrawal 1 already covers output 0/,
  },
];

describe.concurrent('coldpool-offline sign --trust: refusals (exit 3, the output named, nothing written, nothing logged)', () => {
  it.each(CASES)('$name -> $code', async ({ manifest, code, message, payout }) => {
    const p = (payout ?? buildPayout)();
    const run = await sign(p, manifest(p));
    expect(finding(run, code).message).toMatch(message);
    expect(existsSync(run.log)).toBe(false);
  });

  it('signing without a manifest when a trust file is given', async () => {
    const run = await sign(buildPayout(), undefined);
    const err = refused(run);
    expect(err.message).toMatch(/a trust file is in use \(.*\) and no --manifest was given/);
    expect(existsSync(run.log)).toBe(false);
  });

  it('an amount tier: above 100,000 sat it takes three operators', async () => {
    const tiered = write('trust-tiered.json', trustText(trustOf(['alice', 'bob', 'carol'], 2, { tiers: [{ aboveSat: 100_000n, required: 3 }] })));
    const p = buildPayout();
    const run = await sign(p, approved(p), ['--trust', tiered], { trust: false });
    const f = finding(run, 'APPROVALS_TOO_FEW');
    expect(f.message).toMatch(new RegExp(`${OUT0.source}: too few distinct operators: 2 of 3`));
    expect(refused(run).context!.findings!.filter((x) => x.code.startsWith('APPROVAL'))).toHaveLength(1); // the 80,000 sat output is covered
  });

  it('prints the refusal in plain text, naming the output', async () => {
    const p = buildPayout();
    const run = await sign(p, approved(p, { signers: () => [alice()] }), [], { json: false });
    expect(run.r.code).toBe(3);
    expect(run.r.stdout).toMatch(/output 0: withdrawal 1 by alice ok: NOT covered/);
    expect(run.r.stdout).toMatch(/REFUSE APPROVALS_TOO_FEW: output 0 \(bcrt1q\w+, 120000 sat\): too few distinct operators: 1 of 2/);
    expect(run.r.stderr).toMatch(/^error: refusing to sign .*APPROVALS_TOO_FEW: output 0/m);
    expect(existsSync(run.out)).toBe(false);
  });
});

describe('coldpool-offline sign: the signer\'s own caps', () => {
  const config = (text: string): string => write('signer.json', text);

  it('a payout over its per-payout cap is refused even with valid approvals', async () => {
    const p = buildPayout();
    const run = await sign(p, approved(p), ['--config', config('{"max_payout_sat": "199999"}')]);
    expect(finding(run, 'PAYOUT_CAP').message).toMatch(/200000 sat to external outputs \(output 0 120000 sat, output 1 80000 sat\), above the signer's cap of 199999 sat per payout/);
    expect(existsSync(run.log)).toBe(false);
  });

  it('change does not count against the caps: exactly at the cap signs', async () => {
    const p = buildPayout();
    const run = await sign(p, approved(p), ['--config', config('{"max_payout_sat": "200000", "max_24h_sat": "200000"}'), '--new-log']);
    expect(run.r.code, run.r.stderr).toBe(0);
  });

  it('24 h: the first payout signs, the second would exceed the cap and is refused; the log keeps one line', async () => {
    const cfg = config('{"max_24h_sat": "300000"}');
    const log = join(dir, `${++n}-shared.jsonl`);
    const first = buildPayout();
    const one = await sign(first, approved(first), ['--config', cfg, '--new-log'], { log });
    expect(one.r.code, one.r.stderr).toBe(0);
    const second = buildPayout({ inputs: [210_000n, 150_000n] });
    const two = await sign(second, approved(second), ['--config', cfg], { log });
    expect(finding(two, 'DAILY_CAP').message).toMatch(/this payout's 200000 sat to external outputs \(output 0 bcrt1q\w+ 120000 sat, output 1 bcrt1q\w+ 80000 sat\) on top of 200000 sat signed in the last 24 h \(1 payout\(s\), sign log .*\) is 400000 sat, above the signer's 24 h cap of 300000 sat/);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('24 h: entries older than 24 hours drop out of the window; later-stamped ones stay in', async () => {
    const cfg = config('{"max_24h_sat": "300000"}');
    const old = { time: new Date(Date.now() - 25 * 3600_000).toISOString(), outputs: [{ address: 'x', amount_sat: '250000', kind: 'external', withdrawal_id: null }, { address: 'y', amount_sat: '900000', kind: 'change', withdrawal_id: null }] };
    const log = write('old.jsonl', `${JSON.stringify(old)}\n`);
    const p = buildPayout();
    const ok = await sign(p, approved(p), ['--config', cfg], { log });
    expect(ok.r.code, ok.r.stderr).toBe(0);
    const future = { ...old, time: new Date(Date.now() + 3600_000).toISOString() };
    const log2 = write('future.jsonl', `${JSON.stringify(future)}\n`);
    const later = await sign(p, approved(p), ['--config', cfg], { log: log2 });
    expect(finding(later, 'DAILY_CAP').message).toMatch(/on top of 250000 sat signed in the last 24 h/);
  });

  it('24 h: a missing log is refused (not taken as empty) unless --new-log; --new-log on an existing log is refused', async () => {
    const cfg = config('{"max_24h_sat": "300000"}');
    const p = buildPayout();
    const missing = await sign(p, approved(p), ['--config', cfg], { newLog: false });
    expect(refused(missing).message).toMatch(/sign log ".*" does not exist, and the 24 h cap \(max_24h_sat\) is summed from it and the approvals already paid are read from it; refusing/);
    expect(existsSync(missing.log)).toBe(false);
    const log = write('exists.jsonl', '');
    const again = await sign(p, approved(p), ['--config', cfg, '--new-log'], { log });
    expect(again.r.code).toBe(2);
    expect(again.r.stderr).toMatch(/--new-log was given but the sign log .* exists/);
    expect(existsSync(again.out)).toBe(false);
  });

  it('24 h: a corrupt log is refused, naming the line', async () => {
    const cfg = config('{"max_24h_sat": "300000"}');
    const good = JSON.stringify({ time: new Date().toISOString(), outputs: [{ address: 'x', amount_sat: '1', kind: 'external' }] });
    const p = buildPayout();
    for (const bad of ['{"time": "yesterday", "outputs": []}', '{"time": "2026-01-01T00:00:00Z", "outputs": [{"amount_sat": 5}]}', '{"time": "2026-01-01T00:0']) {
      const log = write('corrupt.jsonl', `${good}\n${bad}\n`);
      const run = await sign(p, approved(p), ['--config', cfg], { log });
      expect(refused(run).message).toMatch(/sign log ".*" line 2 is corrupt/);
      expect(readFileSync(log, 'utf8')).toBe(`${good}\n${bad}\n`);
    }
  });

  it('24 h: two signers at once on one log, each payout within the cap but not both: exactly one signs, one line logged', async () => {
    const cfg = config('{"max_24h_sat": "300000"}');
    const log = write('race.jsonl', '');
    const a = buildPayout();
    const b = buildPayout({ inputs: [210_000n, 150_000n] });
    const runs = await Promise.all([sign(a, undefined, ['--config', cfg], { log, trust: false }), sign(b, undefined, ['--config', cfg], { log, trust: false })]);
    const won = runs.filter((run) => run.r.code === 0);
    expect(won, runs.map((run) => run.r.stderr).join('\n')).toHaveLength(1);
    const lost = runs.find((run) => run !== won[0])!;
    expect(finding(lost, 'DAILY_CAP').message).toMatch(/this payout's 200000 sat to external outputs .* on top of 200000 sat signed in the last 24 h \(1 payout\(s\)/);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(existsSync(lockPathOf(log))).toBe(false);
  });

  it('a lock left on the sign log (a crash) is waited for, then refused naming it; never taken over, nothing written', async () => {
    const cfg = config('{"max_24h_sat": "300000"}');
    const log = write('locked.jsonl', '');
    const lock = lockPathOf(log);
    writeFileSync(lock, `${JSON.stringify({ pid: 2 ** 22 + 17, host: hostname(), time: '2026-01-01T00:00:00.000Z' })}\n`);
    const p = buildPayout();
    const started = Date.now();
    const run = await sign(p, undefined, ['--config', cfg], { log, trust: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(LOCK_WAIT_MS);
    expect(run.r.code, run.r.stderr).toBe(4);
    expect(run.r.stdout).toBe('');
    const err = (JSON.parse(run.r.stderr) as { error: { code: string; message: string; hint: string } }).error;
    expect(err.code).toBe('STATE_CONFLICT');
    expect(err.message).toContain(`lock file ${JSON.stringify(lock)} is held by pid ${2 ** 22 + 17}`);
    expect(err.hint).toContain(`remove ${lock} and retry`);
    expect(existsSync(run.out)).toBe(false);
    expect(readFileSync(log, 'utf8')).toBe('');
    expect(existsSync(lock)).toBe(true);
  });

  it('the signer config refuses unknown keys and malformed limits', async () => {
    const p = buildPayout();
    for (const [text, message] of [['{"max_payout": "1"}', /unknown key\(s\) max_payout/], ['{"max_24h_sat": "-1"}', /"max_24h_sat" expected a positive integer/], ['{"trust": 5}', /"trust" expected the path of a trust file/]] as const) {
      const run = await sign(p, approved(p), ['--config', config(text)]);
      expect(refused(run).message).toMatch(message);
    }
  });
});

describe('coldpool-offline inspect: who approved each output', () => {
  it('with a trust file: operator names and whether the approvals check out', async () => {
    const p = buildPayout();
    const psbt = write('i.psbt', p.psbt.toBase64());
    const m = write('i.json', manifestText(approved(p, { signers: (k) => (k === 0 ? [alice(), bob()] : [alice(), mallory()]) })));
    const r = await runCli('coldpool-offline', ['inspect', psbt, '--keystore', keystore, '--password-file', passwordFile, '--manifest', m, '--trust', trustFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/output 0: withdrawal 1 by alice ok, bob ok: covered, 2 of 2 required/);
    expect(r.stdout).toMatch(new RegExp(`output 1: withdrawal 2 by alice ok, ${mallory().id} \\(unknown key\\): NOT covered`));
    expect(r.stdout).toMatch(/REFUSE APPROVALS_TOO_FEW: output 1/);
  });

  it('without a trust file: key ids, not checked; without approvals the JSON has no approval fields', async () => {
    const p = buildPayout();
    const psbt = write('j.psbt', p.psbt.toBase64());
    const m = write('j.json', manifestText(approved(p)));
    const r = await runCli('coldpool-offline', ['inspect', psbt, '--keystore', keystore, '--password-file', passwordFile, '--manifest', m, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const review = JSON.parse(r.stdout) as { outputs: { approval?: unknown }[] };
    expect(review.outputs[0]!.approval).toEqual({
      withdrawal_id: '1', required: null, covered: null, mismatch: null,
      approvers: [{ key_id: alice().id, operator: null, valid: null, problem: null }, { key_id: bob().id, operator: null, valid: null, problem: null }],
    });
    const plain = write('k.json', manifestText(p.manifest));
    const r2 = await runCli('coldpool-offline', ['inspect', psbt, '--keystore', keystore, '--password-file', passwordFile, '--manifest', plain, '--json']);
    const review2 = JSON.parse(r2.stdout) as { outputs: Record<string, unknown>[]; caps: Record<string, unknown> };
    expect(review2.outputs.every((o) => !('approval' in o))).toBe(true);
    expect(Object.keys(review2.caps)).toEqual(['max_fee_sat', 'max_fee_rate_sat_kvb', 'source']);
  });
});

describe('coldpool-offline sign --trust: an approval pays once', () => {
  it('the same approvals in a second payout with other inputs are refused; a replacement (same inputs, higher fee) signs', async () => {
    const log = join(dir, `${++n}-paid.jsonl`);
    const first = buildPayout();
    const manifest = approved(first);
    const one = await sign(first, manifest, [], { log });
    expect(one.r.code, one.r.stderr).toBe(0);
    const firstTxid = (JSON.parse(one.r.stdout) as { unsigned_txid: string }).unsigned_txid;

    // the web host builds the same approved withdrawals into a payout from other coins
    const other = buildPayout({ inputs: [230_000n, 170_000n] });
    const two = await sign(other, { ...manifest, unsignedTxid: other.manifest.unsignedTxid, change: other.manifest.change }, [], { log });
    const f = finding(two, 'APPROVAL_ALREADY_PAID');
    expect(f.message).toMatch(new RegExp(`${OUT0.source}: the approval of withdrawal 1 was already signed into ${firstTxid} \\(sign log .*\\), and this payout spends none of its inputs`));
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);

    // a fee bump spends the same coins, so at most one of the two confirms
    const bump = buildPayout({ change: { index: 3, value: first.manifest.change[0]!.amountSat - 1_000n } });
    const three = await sign(bump, { ...manifest, unsignedTxid: bump.manifest.unsignedTxid, change: bump.manifest.change }, [], { log });
    expect(three.r.code, three.r.stderr).toBe(0);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('with a trust file a missing sign log is refused unless --new-log (it is the memory of approvals paid)', async () => {
    const p = buildPayout();
    const run = await sign(p, approved(p), [], { newLog: false });
    expect(refused(run).message).toMatch(/sign log ".*" does not exist, and the approvals already paid are read from it; refusing rather than starting from an empty log/);
    expect(existsSync(run.log)).toBe(false);
  });
});
