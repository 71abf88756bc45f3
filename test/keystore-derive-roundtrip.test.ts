/**
 * Round trip of the signer's two ways to make a batch: restore → export →
 * `derive --descriptor` (public key only, as on the operator box) gives
 * exactly the addresses `derive --keystore` gives, whichever of export's
 * public forms is pasted (multipath descriptor, receive descriptor, xpub/tpub,
 * zpub/vpub), on mainnet and regtest, with a non-zero --from.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBatchFile } from '../src/core/batch-file.js';
import { runCli, runInProcess, tempDir } from './support/cli.js';

const MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';

describe.each(['mainnet', 'regtest'] as const)('keystore → export → derive round trip on %s', (network) => {
  it('derive --descriptor gives exactly what derive --keystore gives', async () => {
    const dir = tempDir();
    const pw = join(dir, 'pw');
    const keystore = join(dir, 'k.json');
    writeFileSync(pw, 'a long keystore password\n');
    const restored = await runCli('coldpool-offline', ['restore', '--keystore', keystore, '--network', network, '--password-file', pw], { input: `${MNEMONIC}\n` });
    expect(restored.code).toBe(0);
    const exported = await runCli('coldpool-offline', ['export', '--keystore', keystore, '--password-file', pw, '--json']);
    expect(exported.code).toBe(0);
    const account = JSON.parse(exported.stdout) as Record<string, string>;

    const derive = async (name: string, source: string[]): Promise<ReturnType<typeof parseBatchFile>> => {
      const out = join(dir, `${name}.csv`);
      const net = source[0] === '--descriptor' && network !== 'mainnet' ? ['--network', network] : [];
      // The keystore run is a real process (password file, scrypt); the public forms run main() in-process.
      const args = ['derive', ...source, ...net, '--from', '777', '--count', '1500', '--out', out];
      const r = source[0] === '--keystore' ? await runCli('coldpool-offline', args) : await runInProcess('coldpool-offline', args);
      expect(r.code, r.stderr).toBe(0);
      return parseBatchFile(readFileSync(out));
    };
    const fromKeystore = await derive('keystore', ['--keystore', keystore, '--password-file', pw]);
    expect(fromKeystore.meta.network).toBe(network);
    expect(fromKeystore.meta.descriptor).toBe(account.descriptor);
    for (const form of ['descriptor', 'receive_descriptor', 'xpub', 'zpub']) {
      const batch = await derive(form, ['--descriptor', account[form]!]);
      expect(batch.addresses, form).toEqual(fromKeystore.addresses);
      expect(batch.meta.first).toBe(777);
    }
  });
});
