import { formatAccountDescriptor, formatChainDescriptor, formatPath, type AccountDescriptor } from '../../core/descriptor.js';
import { formatExtendedPublicKey } from '../../core/extended-key.js';
import { toJson, type Output } from '../output.js';

/**
 * The public face of an account as `init`, `restore` and `export` print it.
 * Only public data: safe for stdout, logs and the web host.
 *
 * JSON keys are stable for scripts. `xpub` holds a tpub and `zpub` a vpub on
 * the test networks (same field, the network's own prefix).
 */
export interface AccountReport {
  readonly network: string;
  /** Master key fingerprint, 8 lower-case hex. */
  readonly fingerprint: string;
  /** `m/84h/0h/0h` on mainnet, `m/84h/1h/0h` elsewhere. */
  readonly path: string;
  /** BIP32 serialisation (xpub/tpub), what descriptors carry. */
  readonly xpub: string;
  /** SLIP-132 serialisation (zpub/vpub), what Electrum reads for BIP84. */
  readonly zpub: string;
  /** `wpkh([fp/84h/0h/0h]xpub…/<0;1>/*)#checksum` (BIP389 multipath). */
  readonly descriptor: string;
  /** `…/0/*` with checksum: deposit addresses. */
  readonly receive_descriptor: string;
  /** `…/1/*` with checksum: change of payouts. */
  readonly change_descriptor: string;
}

export function accountReport(account: AccountDescriptor): AccountReport {
  return {
    network: account.network.name,
    fingerprint: account.origin?.fingerprint ?? '',
    path: account.origin ? `m/${formatPath(account.origin.path)}` : '',
    xpub: formatExtendedPublicKey(account.key, account.network, 'bip32'),
    zpub: formatExtendedPublicKey(account.key, account.network, 'slip132'),
    descriptor: formatAccountDescriptor(account),
    receive_descriptor: formatChainDescriptor(account, 0),
    change_descriptor: formatChainDescriptor(account, 1),
  };
}

/**
 * Print a report on stdout: every field with `full`, else (after init and
 * restore) the fingerprint and the account descriptor, as JSON with `json`.
 */
export function printAccountReport(report: AccountReport, options: { json: boolean; full: boolean }, out: Output): void {
  const shown: Partial<AccountReport> = options.full
    ? report
    : { network: report.network, fingerprint: report.fingerprint, path: report.path, descriptor: report.descriptor };
  if (options.json) {
    out.data(toJson(shown));
    return;
  }
  const entries = Object.entries(shown);
  const width = Math.max(...entries.map(([k]) => k.length));
  out.data(entries.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${String(v)}`).join('\n'));
}
