import { CodedError } from './errors.js';

/**
 * BBQr ("Better Bitcoin QR") framing: binary data (here a PSBT) split into a
 * series of QR texts that a receiver can collect in any order.
 *
 * Spec: Coinkite, "BBQr - Better Bitcoin QR", BBQr.md in
 * https://github.com/coinkite/BBQr (https://bbqr.org), public domain.
 * What this file follows from it:
 *
 * - every part starts with an 8-character header: `B$`, one encoding char
 *   (`H` hex, `2` base32 RFC 4648 without padding, `Z` zlib+base32), one file
 *   type char (`P` PSBT, `T` transaction, `J`, `C`, `U`, `B`, `X`), two base36
 *   digits (0-9A-Z, capitals) for the number of parts and two for this part's
 *   index (from 0); then the encoded data;
 * - only the QR alphanumeric character set is used (`0-9A-Z$%*+-./:`);
 * - all parts are of equal length except the last; each part decodes to whole
 *   bytes (hex: an even number of digits; base32: all but the last part a
 *   multiple of 8 characters, padding `=` never sent);
 * - all parts carry the same encoding, file type and count (the first 6
 *   characters are the same); at most 1295 (`ZZ`) parts.
 *
 * We emit `2` (base32, ~10% denser than hex) or `H`; the decoder reads `2` and
 * `H` (not `Z`: we never produce it, and only our own tests decode here). The
 * split is balanced (the spec advises against a small runt at the end), so
 * every part except the last has the same length and the last is close to it.
 */

export type BbqrEncoding = '2' | 'H';
/** File type codes of the spec's table. */
export type BbqrFileType = 'P' | 'T' | 'J' | 'C' | 'U' | 'B' | 'X';

export const BBQR_HEADER_LENGTH = 8;
/** `ZZ` in base 36. */
export const BBQR_MAX_PARTS = 36 * 36 - 1;

const FILE_TYPES = new Set<string>(['P', 'T', 'J', 'C', 'U', 'B', 'X']);
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** RFC 4648 §6 base32, upper case, no padding. */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

/** Inverse of base32Encode; refuses padding, foreign characters, impossible lengths and non-zero trailing bits. */
export function base32Decode(text: string): Uint8Array {
  if (![0, 2, 4, 5, 7].includes(text.length % 8)) throw bad(`base32 of length ${text.length} does not decode to whole bytes`);
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let k = 0;
  for (const ch of text) {
    const v = BASE32.indexOf(ch);
    if (v < 0) throw bad(`base32 expected A-Z or 2-7, got ${JSON.stringify(ch)}`);
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out[k++] = (acc >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw bad('base32 has non-zero padding bits');
  return out;
}

function encodeData(bytes: Uint8Array, encoding: BbqrEncoding): string {
  return encoding === '2' ? base32Encode(bytes) : Buffer.from(bytes).toString('hex').toUpperCase();
}

function decodeData(text: string, encoding: string): Uint8Array {
  if (encoding === '2') return base32Decode(text);
  if (encoding === 'H') {
    if (!/^(?:[0-9A-F]{2})*$/.test(text)) throw bad('hex part expected an even number of capital hex digits');
    return new Uint8Array(Buffer.from(text, 'hex'));
  }
  throw bad(`encoding ${JSON.stringify(encoding)} is not supported here (only "2" base32 and "H" hex)`);
}

function base36(n: number): string {
  return BASE36[Math.floor(n / 36)]! + BASE36[n % 36]!;
}

function parseBase36(text: string): number {
  const hi = BASE36.indexOf(text[0] ?? '?');
  const lo = BASE36.indexOf(text[1] ?? '?');
  if (hi < 0 || lo < 0 || text.length !== 2) throw bad(`expected two base36 digits, got ${JSON.stringify(text)}`);
  return hi * 36 + lo;
}

function bad(message: string): CodedError {
  return new CodedError('INVALID_INPUT', `BBQr: ${message}`);
}

export interface BbqrSplitOptions {
  readonly fileType?: BbqrFileType;
  readonly encoding?: BbqrEncoding;
  /** Longest QR text, header included (default 500: QR version 12 at level L holds 535 alphanumerics). */
  readonly maxChars?: number;
}

/** Bytes per part (all but the last) for at most `maxChars` characters per part. */
function maxBytesPerPart(encoding: BbqrEncoding, maxChars: number): number {
  const dataChars = maxChars - BBQR_HEADER_LENGTH;
  // base32: 8 characters carry 5 bytes; a part must end on a byte, and the
  // next part starts on a fresh 5-byte group, so every part but the last is a multiple of 5 bytes
  return encoding === '2' ? Math.floor(dataChars / 8) * 5 : Math.floor(dataChars / 2);
}

/** How many parts `byteLength` bytes need (without producing them). */
export function bbqrPartCount(byteLength: number, options: BbqrSplitOptions = {}): number {
  return plan(byteLength, options.encoding ?? '2', options.maxChars ?? 500).count;
}

function plan(byteLength: number, encoding: BbqrEncoding, maxChars: number): { count: number; perPart: number } {
  const max = maxBytesPerPart(encoding, maxChars);
  if (max < 1) throw new CodedError('USAGE', `BBQr: ${maxChars} characters per part leave no room for data`);
  if (byteLength === 0) return { count: 1, perPart: 0 };
  const n = Math.ceil(byteLength / max);
  const unit = encoding === '2' ? 5 : 1;
  const perPart = Math.ceil(Math.ceil(byteLength / n) / unit) * unit; // balanced: no small runt
  return { count: Math.ceil(byteLength / perPart), perPart };
}

/** Split `data` into BBQr part strings, in order (part 0 first). */
export function bbqrSplit(data: Uint8Array, options: BbqrSplitOptions = {}): string[] {
  const encoding = options.encoding ?? '2';
  const fileType = options.fileType ?? 'P';
  const { count, perPart } = plan(data.length, encoding, options.maxChars ?? 500);
  if (count > BBQR_MAX_PARTS) throw new CodedError('USAGE', `BBQr: ${data.length} bytes need ${count} parts, more than the ${BBQR_MAX_PARTS} the format allows`);
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(`B$${encoding}${fileType}${base36(count)}${base36(i)}${encodeData(data.subarray(i * perPart, (i + 1) * perPart), encoding)}`);
  }
  return parts;
}

export interface BbqrHeader {
  readonly encoding: string;
  readonly fileType: string;
  readonly count: number;
  readonly index: number;
}

/** The 8-character header of one part. */
export function bbqrHeader(part: string): BbqrHeader {
  if (!part.startsWith('B$') || part.length < BBQR_HEADER_LENGTH) throw bad(`part does not start with a "B$" header: ${JSON.stringify(part.slice(0, 12))}`);
  const fileType = part[3]!;
  if (!FILE_TYPES.has(fileType)) throw bad(`unknown file type ${JSON.stringify(fileType)}`);
  const count = parseBase36(part.slice(4, 6));
  const index = parseBase36(part.slice(6, 8));
  if (count < 1 || index >= count) throw bad(`part index ${index} of ${count} parts`);
  return { encoding: part[2]!, fileType, count, index };
}

/** Join parts received in any order back into the data; every part exactly once. */
export function bbqrJoin(parts: readonly string[]): { fileType: string; encoding: string; data: Uint8Array } {
  if (parts.length === 0) throw bad('no parts');
  const headers = parts.map(bbqrHeader);
  const first = headers[0]!;
  const slots: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(first.count).fill(undefined);
  const lengths: number[] = new Array<number>(first.count).fill(0);
  headers.forEach((h, k) => {
    if (h.encoding !== first.encoding || h.fileType !== first.fileType || h.count !== first.count) throw bad(`part ${k} has header ${parts[k]!.slice(0, 6)}, others ${parts[0]!.slice(0, 6)}`);
    if (slots[h.index]) throw bad(`part ${h.index} given twice`);
    slots[h.index] = decodeData(parts[k]!.slice(BBQR_HEADER_LENGTH), h.encoding);
    lengths[h.index] = parts[k]!.length;
  });
  const missing = slots.flatMap((s, i) => (s ? [] : [i]));
  if (missing.length > 0) throw bad(`missing part(s) ${missing.join(', ')} of ${first.count}`);
  if (lengths.slice(0, -1).some((l) => l !== lengths[0])) throw bad('all parts but the last must have the same length');
  return { fileType: first.fileType, encoding: first.encoding, data: new Uint8Array(Buffer.concat(slots as Uint8Array[])) };
}
