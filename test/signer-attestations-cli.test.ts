/**
 * The signer half of issue 13, through the real, built `coldpool-offline`:
 * when the signer's trust file names a verifier, every external output must
 * carry the verifier's attestation over exactly that output's approval
 * content, verified under the trust file's verifier key. Each refusal:
 * exit 3, the exact finding code, the output named, no --out file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { signApproval } from '../src/core/approval.js';
import { signAttestation } from '../src/core/attestation.js';
import { keyIdOf, privateKeyFromSeed, publicKeyHex } from '../src/core/ed25519.js';
import type { PayoutManifest } from '../src/core/payout-manifest.js';
import { runCli, tempDir, type CliResult } from './support/cli.js';
import { approved, buildPayout, manifestText, trustOf, trustText, fixtureSigner, type Payout } from './support/psbt-fixtures.js';

const PASSWORD = 'correct horse battery';
const verifierKey = privateKeyFromSeed(Buffer.alloc(32, 0x5e));
const VERIFIER = publicKeyHex(verifierKey);
const VERIFIER_ID = keyIdOf(VERIFIER);
const otherKey = privateKeyFromSeed(Buffer.alloc(32, 0x6f));
let dir: string;
let keystore: string;
let passwordFile: string;
let trustFile: string;
let plainTrustFile: string;
let n = 0;

beforeAll(async () => {
  dir = tempDir('coldpool-signer-attestations-');
  ({ keystore, passwordFile } = await fixtureSigner(dir, PASSWORD));
  trustFile = join(dir, 'coldpool-trust.json');
  writeFileSync(trustFile, trustText({ ...trustOf(['alice', 'bob'], 2), verifier: { publicKey: VERIFIER } }));
  plainTrustFile = join(dir, 'plain-trust.json');
  writeFileSync(plainTrustFile, trustText(trustOf(['alice', 'bob'], 2)));
});

/** Approved by alice and bob, and each output attested by `attest(k)` (default: the verifier, over output k's approval content). */
function attested(p: Payout, attest: (m: PayoutManifest, k: number) => { keyId: string; signature: string } | undefined = (m, k) => ({ keyId: VERIFIER_ID, signature: signAttestation(m.outputs[k]!.approval!.content, verifierKey) })): PayoutManifest {
  const m = approved(p);
  return { ...m, outputs: m.outputs.map((o, k) => { const a = attest(m, k); return a ? { ...o, attestation: a } : o; }) };
}

interface Run { r: CliResult; out: string; log: string }

async function sign(p: Payout, manifest: PayoutManifest, opts: { trust?: string; json?: boolean } = {}): Promise<Run> {
  const psbt = join(dir, `${++n}-payout.psbt`);
  writeFileSync(psbt, `${p.psbt.toBase64()}\n`);
  const m = join(dir, `${++n}-manifest.json`);
  writeFileSync(m, manifestText(manifest));
  const out = join(dir, `${++n}-signed.psbt`);
  const log = join(dir, `${++n}-sign.jsonl`);
  const r = await runCli('coldpool-offline', [
    'sign', psbt, '--keystore', keystore, '--password-file', passwordFile, '--out', out, '--log', log, '--new-log', '--yes',
    ...(opts.json === false ? [] : ['--json']), '--trust', opts.trust ?? trustFile, '--manifest', m,
  ]);
  return { r, out, log };
}

function findings(run: Run): { code: string; message: string; output?: number }[] {
  expect(run.r.code, run.r.stderr).toBe(3);
  expect(run.r.stdout).toBe('');
  expect(existsSync(run.out)).toBe(false);
  expect(existsSync(run.log) ? readFileSync(run.log, 'utf8') : '').toBe('');
  return (JSON.parse(run.r.stderr) as { error: { context: { findings: { code: string; message: string; output?: number }[] } } }).error.context.findings;
}

const OUT0 = /^output 0 \(bcrt1q\w+, 120000 sat\): /;
const OUT1 = /^output 1 \(bcrt1q\w+, 80000 sat\): /;

describe('coldpool-offline sign with a verifier in the trust file', () => {
  it('every output attested by the verifier: signs, shows "attested by verifier <id>", logs attested_by', async () => {
    const p = buildPayout();
    const run = await sign(p, attested(p));
    expect(run.r.code, run.r.stderr).toBe(0);
    const result = JSON.parse(run.r.stdout) as { review: { outputs: { kind: string; attestation?: unknown }[]; findings: unknown[] } };
    expect(result.review.findings).toEqual([]);
    expect(result.review.outputs.map((o) => o.attestation)).toEqual([
      { key_id: VERIFIER_ID, verifier: VERIFIER_ID, valid: true, problem: null },
      { key_id: VERIFIER_ID, verifier: VERIFIER_ID, valid: true, problem: null },
      undefined, // change needs none
    ]);
    const [line] = readFileSync(run.log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { outputs: Record<string, unknown>[] });
    expect(line!.outputs.map((o) => o.attested_by)).toEqual([VERIFIER_ID, VERIFIER_ID, undefined]);

    const text = await sign(p, attested(p), { json: false });
    expect(text.r.code, text.r.stderr).toBe(0);
    expect(text.r.stdout).toMatch(new RegExp(`attestations:\\n {2}output 0: attested by verifier ${VERIFIER_ID}\\n {2}output 1: attested by verifier ${VERIFIER_ID}`));
  });

  it('refuses an output without an attestation: ATTESTATION_MISSING naming it', async () => {
    const p = buildPayout();
    const f = findings(await sign(p, attested(p, (m, k) => (k === 1 ? undefined : { keyId: VERIFIER_ID, signature: signAttestation(m.outputs[k]!.approval!.content, verifierKey) }))));
    expect(f.map((x) => [x.code, x.output])).toEqual([['ATTESTATION_MISSING', 1]]);
    expect(f[0]!.message).toMatch(OUT1);
    expect(f[0]!.message).toContain(`no attestation: the trust file names verifier ${VERIFIER_ID}`);
  });

  it('refuses a manifest approved but never attested at all: one ATTESTATION_MISSING per output', async () => {
    const p = buildPayout();
    const f = findings(await sign(p, approved(p)));
    expect(f.map((x) => [x.code, x.output])).toEqual([['ATTESTATION_MISSING', 0], ['ATTESTATION_MISSING', 1]]);
  });

  it('refuses a forged attestation (random signature under the verifier\'s key id): ATTESTATION_INVALID', async () => {
    const p = buildPayout();
    const f = findings(await sign(p, attested(p, (m, k) => (k === 0 ? { keyId: VERIFIER_ID, signature: randomBytes(64).toString('hex') } : { keyId: VERIFIER_ID, signature: signAttestation(m.outputs[k]!.approval!.content, verifierKey) }))));
    expect(f.map((x) => [x.code, x.output])).toEqual([['ATTESTATION_INVALID', 0]]);
    expect(f[0]!.message).toMatch(OUT0);
    expect(f[0]!.message).toContain(`does not verify under verifier ${VERIFIER_ID} over this output's approval content`);
  });

  it('refuses an attestation by another key, whether it names its own id or the verifier\'s', async () => {
    const p = buildPayout();
    const own = findings(await sign(p, attested(p, (m, k) => ({ keyId: keyIdOf(otherKey), signature: signAttestation(m.outputs[k]!.approval!.content, otherKey) }))));
    expect(own.map((x) => [x.code, x.output])).toEqual([['ATTESTATION_INVALID', 0], ['ATTESTATION_INVALID', 1]]);
    expect(own[0]!.message).toContain(`signed by key ${keyIdOf(otherKey)}, not the trusted verifier ${VERIFIER_ID}`);
    const claimed = findings(await sign(p, attested(p, (m, k) => ({ keyId: VERIFIER_ID, signature: signAttestation(m.outputs[k]!.approval!.content, otherKey) }))));
    expect(claimed.map((x) => x.code)).toEqual(['ATTESTATION_INVALID', 'ATTESTATION_INVALID']);
  });

  it('refuses the verifier\'s real attestation of another output (copied over): ATTESTATION_INVALID on the output it does not cover', async () => {
    const p = buildPayout();
    const f = findings(await sign(p, attested(p, (m) => ({ keyId: VERIFIER_ID, signature: signAttestation(m.outputs[1]!.approval!.content, verifierKey) }))));
    expect(f.map((x) => [x.code, x.output])).toEqual([['ATTESTATION_INVALID', 0]]);
    expect(f[0]!.message).toMatch(OUT0);
  });

  it('refuses an operator\'s approval signature passed off as the attestation (another domain prefix)', async () => {
    const p = buildPayout();
    const f = findings(await sign(p, attested(p, (m, k) => ({ keyId: VERIFIER_ID, signature: signApproval(m.outputs[k]!.approval!.content, verifierKey) }))));
    expect(f.map((x) => x.code)).toEqual(['ATTESTATION_INVALID', 'ATTESTATION_INVALID']);
  });

  it('a manifest attestation without its approval is refused when read', async () => {
    const p = buildPayout();
    const m = attested(p);
    const text = JSON.parse(manifestText(m)) as { outputs: Record<string, unknown>[] };
    delete text.outputs[0]!.approval;
    const path = join(dir, `${++n}-bare.json`);
    writeFileSync(path, JSON.stringify(text));
    const psbt = join(dir, `${++n}-p.psbt`);
    writeFileSync(psbt, p.psbt.toBase64());
    const r = await runCli('coldpool-offline', ['inspect', psbt, '--keystore', keystore, '--password-file', passwordFile, '--manifest', path]);
    expect(r.code).toBe(3); // INVALID_INPUT: refused
    expect(r.stderr).toContain('outputs[0].attestation needs the "approval" whose content it signs');
  });
});

describe('coldpool-offline without a verifier in the trust file', () => {
  it('behaves as before: attestations are not required, and one carried is shown as not checked', async () => {
    const p = buildPayout();
    const bare = await sign(p, approved(p), { trust: plainTrustFile });
    expect(bare.r.code, bare.r.stderr).toBe(0);
    expect((JSON.parse(bare.r.stdout) as { review: { outputs: { attestation?: unknown }[] } }).review.outputs.map((o) => o.attestation)).toEqual([undefined, undefined, undefined]);
    const carried = await sign(p, attested(p), { trust: plainTrustFile });
    expect(carried.r.code, carried.r.stderr).toBe(0);
    expect((JSON.parse(carried.r.stdout) as { review: { outputs: { attestation?: unknown }[] } }).review.outputs[0]!.attestation).toEqual({ key_id: VERIFIER_ID, verifier: null, valid: null, problem: null });
  });

  it('inspect with the verifier\'s trust file shows the attestation of each output', async () => {
    const p = buildPayout();
    const psbt = join(dir, `${++n}-p.psbt`);
    writeFileSync(psbt, p.psbt.toBase64());
    const m = join(dir, `${++n}-m.json`);
    writeFileSync(m, manifestText(attested(p, (mm, k) => (k === 1 ? { keyId: VERIFIER_ID, signature: randomBytes(64).toString('hex') } : { keyId: VERIFIER_ID, signature: signAttestation(mm.outputs[k]!.approval!.content, verifierKey) }))));
    const r = await runCli('coldpool-offline', ['inspect', psbt, '--keystore', keystore, '--password-file', passwordFile, '--manifest', m, '--trust', trustFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`output 0: attested by verifier ${VERIFIER_ID}\\n {2}output 1: INVALID: the signature does not verify`));
    expect(r.stdout).toMatch(/REFUSE ATTESTATION_INVALID: output 1 /);
  });
});
