/**
 * Electrum as an independent implementation: Debian's python3-electrum run by
 * test/electrum/derive_addresses.py under the system python, and its output
 * recorded once in test/vectors/electrum-*.json (test/electrum/record.sh).
 */
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readVector } from './vectors.js';

/** Debian's system python, where python3-electrum lives; COLDPOOL_ELECTRUM_PYTHON overrides it. */
export const SYSTEM_PYTHON = process.env.COLDPOOL_ELECTRUM_PYTHON ?? '/usr/bin/python3';
export const ELECTRUM_SCRIPT = fileURLToPath(new URL('../electrum/derive_addresses.py', import.meta.url));

export interface ElectrumRange {
  readonly generator: 'electrum';
  readonly electrum_version: string;
  readonly net: 'mainnet' | 'testnet' | 'regtest' | 'signet';
  readonly xkey: string;
  readonly chain: 0 | 1;
  readonly from: number;
  readonly count: number;
  readonly addresses: string[];
}

/** The two recorded ranges (from 0 and from a non-zero index) of one network. */
export function recordedElectrum(net: 'mainnet' | 'testnet' | 'regtest'): ElectrumRange[] {
  return (JSON.parse(readVector(`electrum-${net}.json`)) as { ranges: ElectrumRange[] }).ranges;
}

/** Why live Electrum cannot run here, or undefined when it can. */
export function electrumUnavailable(): string | undefined {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import electrum.bip32, electrum.bitcoin, electrum.constants'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `${SYSTEM_PYTHON} not runnable (${r.error.message}); install python3-electrum (CI does)`;
  if (r.status !== 0) return `${SYSTEM_PYTHON} cannot import electrum (${r.stderr.trim().split('\n').at(-1)}); install python3-electrum (CI does)`;
  return undefined;
}

export interface ElectrumRequest {
  readonly xkey: string;
  readonly net: string;
  readonly from: number;
  readonly count: number;
}

/** Ask Electrum, live and in one process, for the receive addresses (chain 0) of each request. */
export function electrumAddresses(requests: readonly ElectrumRequest[]): Promise<ElectrumRange[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(SYSTEM_PYTHON, [ELECTRUM_SCRIPT, '--requests'], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`derive_addresses.py failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as ElectrumRange[]);
    });
    child.stdin!.end(JSON.stringify(requests.map((r) => ({ ...r, chain: 0 }))));
  });
}
