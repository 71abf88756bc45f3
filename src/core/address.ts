import { bech32, bech32m } from 'bech32';
import bs58check from 'bs58check';
import { CodedError, show } from './errors.js';
import { NETWORKS, type Network } from './network.js';

/**
 * Withdrawal destinations: every standard output type, checked for the pool's
 * network, with the output script it pays to and Bitcoin Core's dust limit.
 *
 * - P2PKH, P2SH: base58check (version byte of the network);
 * - P2WPKH, P2WSH: bech32, witness v0 with a 20- or 32-byte program (BIP173/BIP141);
 * - P2TR: bech32m, witness v1 with a 32-byte program (BIP350/BIP341);
 * - v2..v16: bech32m, 2..40 bytes ("witness_unknown": valid per BIP350, flagged in review).
 *
 * https://github.com/bitcoin/bips/blob/master/bip-0173.mediawiki
 * https://github.com/bitcoin/bips/blob/master/bip-0350.mediawiki
 */
export type AddressType = 'p2pkh' | 'p2sh' | 'p2wpkh' | 'p2wsh' | 'p2tr' | 'witness_unknown';

export interface Destination {
  readonly address: string;
  readonly type: AddressType;
  /** The scriptPubKey, hex. */
  readonly scriptHex: string;
  /** Bitcoin Core's dust threshold for this output (at its default 3 sat/vB dust relay fee). */
  readonly dustSat: bigint;
}

/** Stable reasons, for scripts, tests and the `reason` column of an invalid request. */
export type AddressReason =
  | 'address_format' | 'address_mixed_case' | 'address_checksum' | 'address_network'
  | 'address_bech32_variant' | 'address_witness_version' | 'address_program_length' | 'address_padding';

export class AddressError extends CodedError {
  readonly reason: AddressReason;
  constructor(reason: AddressReason, message: string, hint?: string) {
    super(reason === 'address_network' ? 'NETWORK_MISMATCH' : 'INVALID_INPUT', message, { context: { reason }, ...(hint ? { hint } : {}) });
    this.reason = reason;
  }
}

/** The dust relay fee Bitcoin Core uses by default: 3,000 sat/kvB. */
const DUST_RELAY_SAT_KVB = 3000n;

/**
 * Core's GetDustThreshold: (output size + size of the input that spends it)
 * times the dust relay fee. Gives P2PKH 546, P2SH 540, P2WPKH 294, P2WSH 330, P2TR 330.
 */
export function dustThresholdSat(scriptLength: number, witness: boolean): bigint {
  const outputSize = 8 + 1 + scriptLength;
  const spendSize = witness ? 32 + 4 + 1 + Math.floor(107 / 4) + 4 : 32 + 4 + 1 + 107 + 4;
  return (BigInt(outputSize + spendSize) * DUST_RELAY_SAT_KVB) / 1000n;
}

const hex = (bytes: ArrayLike<number>): string => Buffer.from(Uint8Array.from(bytes)).toString('hex');
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]+$/;
const KNOWN_HRPS = [...new Set(Object.values(NETWORKS).map((n) => n.bech32))].sort((a, b) => b.length - a.length);

/**
 * Parse and check a destination for `network`; throws AddressError naming the reason.
 *
 * @example
 * parseAddress('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', NETWORKS.mainnet)
 * // { type: 'p2wpkh', scriptHex: '0014751e…', dustSat: 294n, … }
 */
export function parseAddress(text: unknown, network: Network): Destination {
  if (typeof text !== 'string' || text === '') throw new AddressError('address_format', `"address" expected a bitcoin address, got ${show(text)}`);
  if (text.length > 90 || /\s/.test(text)) throw new AddressError('address_format', `"address" expected a bitcoin address without spaces, at most 90 characters, got ${show(text)}`);
  const lower = text.toLowerCase();
  const sep = lower.lastIndexOf('1');
  const hrp = sep > 0 ? lower.slice(0, sep) : '';
  if (KNOWN_HRPS.includes(hrp)) return parseSegwit(text, hrp, network);
  if (BASE58.test(text)) {
    const viaBase58 = parseBase58(text, network);
    if (viaBase58) return viaBase58;
  }
  if (sep > 0 && (bech32.decodeUnsafe(lower, 90) || bech32m.decodeUnsafe(lower, 90))) {
    throw new AddressError('address_network', `"address" expected a ${network.name} address (${network.bech32}1…), got the unknown prefix "${hrp}" in ${show(text)}`);
  }
  throw new AddressError(BASE58.test(text) ? 'address_checksum' : 'address_format', `"address" expected a valid base58check or bech32/bech32m address, got ${show(text)}`);
}

function parseBase58(text: string, network: Network): Destination | undefined {
  const payload = bs58check.decodeUnsafe(text);
  if (!payload) throw new AddressError('address_checksum', `"address" has a bad base58check checksum: ${show(text)}`, 'ask the user to copy the address again');
  if (payload.length !== 21) throw new AddressError('address_format', `"address" expected a 21-byte base58check payload, got ${payload.length} bytes in ${show(text)}`);
  const version = payload[0]!;
  const hash = hex(payload.subarray(1));
  if (version === network.pubKeyHash) return { address: text, type: 'p2pkh', scriptHex: `76a914${hash}88ac`, dustSat: dustThresholdSat(25, false) };
  if (version === network.scriptHash) return { address: text, type: 'p2sh', scriptHex: `a914${hash}87`, dustSat: dustThresholdSat(23, false) };
  const other = Object.values(NETWORKS).find((n) => n.pubKeyHash === version || n.scriptHash === version);
  if (other) throw new AddressError('address_network', `"address" expected a ${network.name} address, got a ${other.name === 'mainnet' ? 'mainnet' : 'test network'} address ${show(text)}`);
  throw new AddressError('address_format', `"address" has the unknown base58 version byte 0x${version.toString(16).padStart(2, '0')}: ${show(text)}`);
}

function parseSegwit(text: string, hrp: string, network: Network): Destination {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) {
    throw new AddressError('address_mixed_case', `"address" mixes upper and lower case (BIP173 refuses it): ${show(text)}`, 'a bech32 address is all lower case or all upper case');
  }
  if (hrp !== network.bech32) {
    throw new AddressError('address_network', `"address" expected a ${network.name} address (${network.bech32}1…), got "${hrp}1…": ${show(text)}`);
  }
  const lower = text.toLowerCase();
  const asBech32 = bech32.decodeUnsafe(lower, 90);
  // One string cannot carry both checksums (their constants differ): decode as bech32m only when bech32 fails.
  const asBech32m = asBech32 ? undefined : bech32m.decodeUnsafe(lower, 90);
  const decoded = asBech32 ?? asBech32m;
  if (!decoded) throw new AddressError('address_checksum', `"address" has a bad bech32/bech32m checksum or character: ${show(text)}`, 'ask the user to copy the address again');
  if (decoded.words.length === 0) throw new AddressError('address_format', `"address" has an empty data part: ${show(text)}`);
  // The order of BIP350's reference decoder: padding, program length, version, v0 length, then the checksum variant.
  const version = decoded.words[0]!;
  const program = bech32.fromWordsUnsafe(decoded.words.slice(1));
  if (!program) throw new AddressError('address_padding', `"address" has invalid padding in its witness program: ${show(text)}`);
  const n = program.length;
  if (n < 2 || n > 40) throw new AddressError('address_program_length', `"address" expected a witness program of 2..40 bytes, got ${n}: ${show(text)}`);
  if (version > 16) throw new AddressError('address_witness_version', `"address" expected witness version 0..16, got ${version}: ${show(text)}`);
  if (version === 0 && n !== 20 && n !== 32) throw new AddressError('address_program_length', `"address" expected a v0 witness program of 20 or 32 bytes (BIP141), got ${n}: ${show(text)}`);
  if (version === 0 && !asBech32) throw new AddressError('address_bech32_variant', `"address" is witness v0 encoded with bech32m; v0 requires bech32 (BIP350): ${show(text)}`);
  if (version > 0 && !asBech32m) throw new AddressError('address_bech32_variant', `"address" is witness v${version} encoded with bech32; v1+ requires bech32m (BIP350): ${show(text)}`);
  if (version === 1 && n !== 32) throw new AddressError('address_program_length', `"address" expected a v1 (taproot) witness program of 32 bytes, got ${n}: ${show(text)}`);
  const scriptHex = `${hex([version === 0 ? 0 : 0x50 + version, n])}${hex(program)}`;
  const type: AddressType = version === 0 ? (n === 20 ? 'p2wpkh' : 'p2wsh') : version === 1 ? 'p2tr' : 'witness_unknown';
  return { address: text, type, scriptHex, dustSat: dustThresholdSat(2 + n, true) };
}
