/**
 * End to end: `coldpool-offline derive --descriptor …` (bin/, the built dist/)
 * writes a batch file whose every row equals Electrum's address for that
 * index: 1,000+ addresses per run, non-zero --from, on mainnet, testnet and
 * regtest, with the account given as a descriptor with origin, a bare zpub or
 * a bare vpub. Electrum's addresses are the recording in
 * test/vectors/electrum-*.json (checked against live Electrum by
 * electrum-derive.test.ts).
 *
 * Needs `npm run build` first (`npm test` does it in pretest).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBatchFile } from '../src/core/batch-file.js';
import { parseAccountDescriptor } from '../src/core/descriptor.js';
import { NETWORKS } from '../src/core/network.js';
import { testAccount, type TestNet } from './support/accounts.js';
import { recordedElectrum } from './support/electrum.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/coldpool-offline.js');
const BUILT = existsSync(join(ROOT, 'dist/cli/offline/main.js'));
if (!BUILT) console.warn('derive-cli-electrum: skipped: dist/ is missing, run `npm run build` (npm test does)');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'coldpool-derive-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Form = 'descriptor' | 'zpub/vpub';
const cases: { net: TestNet; form: Form; range: number; network: boolean }[] = [
  { net: 'mainnet', form: 'descriptor', range: 1, network: false },
  { net: 'mainnet', form: 'zpub/vpub', range: 0, network: true },
  { net: 'testnet', form: 'zpub/vpub', range: 1, network: true },
  { net: 'regtest', form: 'descriptor', range: 1, network: true },
];

describe.skipIf(!BUILT)(`coldpool-offline derive agrees with Electrum${BUILT ? '' : ' (skipped: run npm run build)'}`, () => {
  it.each(cases)('$net, $form, recorded range $range: every row equals Electrum', async ({ net, form, range, network }) => {
    const recorded = recordedElectrum(net)[range]!;
    const account = testAccount(net);
    const out = join(dir, `${net}-${range}-${form.replace('/', '-')}.csv`);
    const args = [
      'derive', '--descriptor', form === 'descriptor' ? account.descriptor : account.slip132,
      '--from', String(recorded.from), '--count', String(recorded.count), '--out', out, '--json',
      ...(network ? ['--network', net] : []),
    ];
    const r = await run(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ network: net, chain: 0, first: recorded.from, count: recorded.count, last: recorded.from + recorded.count - 1 });

    const batch = parseBatchFile(readFileSync(out));
    expect(batch.meta).toMatchObject({ network: net, chain: 0, first: recorded.from, count: recorded.count });
    expect(batch.digest).toBe(summary.sha256);
    // the descriptor in the file is the account Electrum was given
    const inFile = parseAccountDescriptor(batch.meta.descriptor, NETWORKS[net]);
    const given = parseAccountDescriptor(recorded.xkey, NETWORKS[net]);
    expect(Buffer.from(inFile.key.publicKey).equals(Buffer.from(given.key.publicKey))).toBe(true);
    expect(Buffer.from(inFile.key.chainCode).equals(Buffer.from(given.key.chainCode))).toBe(true);
    // every row
    expect(batch.addresses).toHaveLength(recorded.addresses.length);
    const mismatches = batch.addresses.flatMap((a, k) => (a === recorded.addresses[k] ? [] : [`${recorded.from + k}: ${a} != ${recorded.addresses[k]}`]));
    expect(mismatches).toEqual([]);
    expect(summary.first_address).toBe(recorded.addresses[0]);
    expect(summary.last_address).toBe(recorded.addresses.at(-1));
  });
});
