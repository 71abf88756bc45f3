import { CodedError } from './errors.js';

/**
 * BIP380 output-descriptor checksum: 8 characters after `#`, a BCH code over
 * the descriptor's characters. A port of Bitcoin Core's DescriptorChecksum
 * (src/script/descriptor.cpp).
 *
 * @see https://github.com/bitcoin/bips/blob/master/bip-0380.mediawiki#checksum
 */
const INPUT_CHARSET =
  '0123456789()[],\'/*abcdefgh@:$%{}' +
  'IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~' +
  'ijklmnopqrstuvwxyzABCDEFGH`#"\\ ';
const CHECKSUM_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

function polyMod(c: bigint, val: number): bigint {
  const c0 = c >> 35n;
  c = ((c & 0x7ffffffffn) << 5n) ^ BigInt(val);
  if (c0 & 1n) c ^= 0xf5dee51989n;
  if (c0 & 2n) c ^= 0xa9fdca3312n;
  if (c0 & 4n) c ^= 0x1bab10e32dn;
  if (c0 & 8n) c ^= 0x3706b1677an;
  if (c0 & 16n) c ^= 0x644d626ffdn;
  return c;
}

/**
 * The checksum of a descriptor without `#…`; throws INVALID_INPUT on a
 * character outside the descriptor charset.
 *
 * @example descriptorChecksum('raw(deadbeef)') // '89f8spxm'
 */
export function descriptorChecksum(descriptor: string): string {
  let c = 1n;
  let cls = 0;
  let clsCount = 0;
  for (const ch of descriptor) {
    const pos = INPUT_CHARSET.indexOf(ch);
    if (pos === -1) {
      throw new CodedError('INVALID_INPUT', `"descriptor" contains a character outside the descriptor charset: ${JSON.stringify(ch)}`);
    }
    c = polyMod(c, pos & 31);
    cls = cls * 3 + (pos >> 5);
    if (++clsCount === 3) {
      c = polyMod(c, cls);
      cls = 0;
      clsCount = 0;
    }
  }
  if (clsCount > 0) c = polyMod(c, cls);
  for (let j = 0; j < 8; ++j) c = polyMod(c, 0);
  c ^= 1n;
  let out = '';
  for (let j = 0; j < 8; ++j) out += CHECKSUM_CHARSET[Number((c >> BigInt(5 * (7 - j))) & 31n)];
  return out;
}

/** `desc#checksum`. */
export function addChecksum(descriptor: string): string {
  return `${descriptor}#${descriptorChecksum(descriptor)}`;
}

/**
 * Split `desc#checksum`, verifying the checksum when present. Returns the
 * descriptor without it. `require` makes a missing checksum an error.
 */
export function stripChecksum(text: string, require = false): string {
  const hash = text.indexOf('#');
  if (hash === -1) {
    if (require) throw new CodedError('CHECKSUM', '"descriptor" expected a #checksum, got none');
    descriptorChecksum(text); // still validates the charset
    return text;
  }
  const body = text.slice(0, hash);
  const given = text.slice(hash + 1);
  if (given.length !== 8) {
    throw new CodedError('CHECKSUM', `"descriptor" checksum expected 8 characters, got ${given.length} ("${given}")`);
  }
  const want = descriptorChecksum(body);
  if (given !== want) {
    throw new CodedError('CHECKSUM', `"descriptor" checksum mismatch: the descriptor says #${given}, its content gives #${want}`, {
      hint: 'the descriptor was mistyped or altered; copy it again from `coldpool-offline export`',
    });
  }
  return body;
}
