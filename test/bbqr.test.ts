/**
 * BBQr framing (src/core/bbqr.ts) against Coinkite's spec (BBQr.md,
 * https://github.com/coinkite/BBQr): headers, equal-length parts, the
 * alphanumeric character set, round trips of PSBT-sized data in any order,
 * and the spec's own example series (`B$HP0300` … a 2150-byte PSBT in parts
 * of 1000, 1000 and 150 bytes). Plus the terminal drawing of `--qr`
 * (src/cli/qr.ts): the drawn matrix is exactly the QR code of the part text,
 * one QR version for the series, and the too-large refusal.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, bbqrHeader, bbqrJoin, bbqrPartCount, bbqrSplit } from '../src/core/bbqr.js';
import { psbtQrSeries, qrModules, readDrawing } from '../src/cli/qr.js';

const QR_ALNUM = /^[0-9A-Z $%*+\-./:]*$/;

describe('base32 (RFC 4648, no padding)', () => {
  it('matches the RFC 4648 §10 test vectors with the padding removed', () => {
    const vectors: [string, string][] = [['', ''], ['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI']];
    for (const [plain, enc] of vectors) {
      expect(base32Encode(Buffer.from(plain))).toBe(enc);
      expect(Buffer.from(base32Decode(enc)).toString()).toBe(plain);
    }
  });

  it('refuses padding, lower case and impossible lengths', () => {
    expect(() => base32Decode('MY======')).toThrow(/length|base32/);
    expect(() => base32Decode('my')).toThrow(/A-Z/);
    expect(() => base32Decode('MZX')).toThrow(/whole bytes/);
    expect(() => base32Decode('MZ')).toThrow(/padding bits/);
  });
});

describe('BBQr split / join', () => {
  it.each([1, 5, 100, 304, 305, 306, 675, 992, 2150, 4142, 6100])('%i bytes round-trip, in any order, with spec headers', (size) => {
    const data = new Uint8Array(randomBytes(size));
    for (const encoding of ['2', 'H'] as const) {
      const parts = bbqrSplit(data, { encoding, fileType: 'P', maxChars: 500 });
      expect(parts.length).toBe(bbqrPartCount(size, { encoding, maxChars: 500 }));
      parts.forEach((p, i) => {
        expect(p.length).toBeLessThanOrEqual(500);
        expect(p).toMatch(QR_ALNUM);
        const h = bbqrHeader(p);
        expect(h).toEqual({ encoding, fileType: 'P', count: parts.length, index: i });
        expect(p.slice(0, 6)).toBe(parts[0]!.slice(0, 6)); // same encoding, type and count
        expect(p.slice(6, 8)).toBe(i.toString(36).toUpperCase().padStart(2, '0'));
        if (i < parts.length - 1) {
          expect(p.length).toBe(parts[0]!.length); // equal length but the last
          if (encoding === '2') expect((p.length - 8) % 8).toBe(0); // whole bytes without padding
        }
      });
      const shuffled = [...parts].reverse();
      const back = bbqrJoin(shuffled);
      expect(back.fileType).toBe('P');
      expect(back.encoding).toBe(encoding);
      expect(Buffer.from(back.data).equals(Buffer.from(data))).toBe(true);
    }
  });

  it('balances the parts (no small runt at the end)', () => {
    const parts = bbqrSplit(new Uint8Array(310), { maxChars: 500 }); // 305 bytes fit one part: two parts of 155
    expect(parts.map((p) => p.length)).toEqual([8 + 248, 8 + 248]);
  });

  it('counts parts in base 36: the 37th part is index "10", the count "11" (37)', () => {
    const parts = bbqrSplit(new Uint8Array(37), { encoding: 'H', maxChars: 10 });
    expect(parts.length).toBe(37);
    expect(parts[0]!.slice(0, 8)).toBe('B$HP1100');
    expect(parts[36]!.slice(0, 8)).toBe('B$HP1110');
    expect(parts[35]!.slice(0, 8)).toBe('B$HP110Z');
  });

  // The spec says "2007 characters" for these parts and calls the header "seven-character", but its header
  // (B$ H P 05 00) is 8 characters, as in every implementation: 8 + 2000 = 2008.
  it("the spec's example: B$HP0300 / B$HP0301 (2000 hex digits each) / B$HP0302 (300 hex digits)", () => {
    const psbt = new Uint8Array(randomBytes(2150));
    const hex = Buffer.from(psbt).toString('hex').toUpperCase();
    const spec = [`B$HP0300${hex.slice(0, 2000)}`, `B$HP0301${hex.slice(2000, 4000)}`, `B$HP0302${hex.slice(4000)}`];
    expect(spec.map((p) => p.length)).toEqual([2008, 2008, 308]);
    expect(Buffer.from(bbqrJoin([spec[2]!, spec[0]!, spec[1]!]).data).equals(Buffer.from(psbt))).toBe(true);
    // ours, with the same 2008-character budget: the same header fields, three parts, balanced
    const ours = bbqrSplit(psbt, { encoding: 'H', fileType: 'P', maxChars: 2008 });
    expect(ours.map((p) => p.slice(0, 8))).toEqual(['B$HP0300', 'B$HP0301', 'B$HP0302']);
    expect(Buffer.from(bbqrJoin(ours).data).equals(Buffer.from(psbt))).toBe(true);
  });

  it('refuses broken series: missing or repeated parts, mixed headers, unequal lengths, bad headers', () => {
    const parts = bbqrSplit(new Uint8Array(randomBytes(1000)), { maxChars: 500 });
    expect(parts.length).toBe(4);
    expect(() => bbqrJoin(parts.slice(1))).toThrow(/missing part\(s\) 0 of 4/);
    expect(() => bbqrJoin([...parts, parts[1]!])).toThrow(/given twice/);
    expect(() => bbqrJoin([parts[0]!, parts[1]!.replace('B$2P', 'B$2T'), parts[2]!, parts[3]!])).toThrow(/header/);
    expect(() => bbqrJoin([parts[0]!.slice(0, -8), ...parts.slice(1)])).toThrow(/same length/);
    expect(() => bbqrJoin(['X$2P0100AA'])).toThrow(/B\$/);
    expect(() => bbqrJoin(['B$2Q0100AA'])).toThrow(/file type/);
    expect(() => bbqrJoin(['B$2P0101AA'])).toThrow(/index 1 of 1/);
    expect(() => bbqrJoin(['B$ZP0100AA'])).toThrow(/not supported/);
  });
});

describe('terminal QR series (payout build --qr)', () => {
  it('every drawn QR is the QR code of its part, one version for all, and the parts give back the PSBT bytes', () => {
    const psbt = new Uint8Array(randomBytes(1234));
    const series = psbtQrSeries(psbt);
    expect(series.frames.length).toBe(5);
    for (const f of series.frames) {
      expect(readDrawing(f.lines)).toEqual(qrModules(f.text, series.version));
      expect(readDrawing(f.lines).length).toBe(17 + 4 * series.version);
    }
    expect(series.version).toBeLessThanOrEqual(12);
    expect(Buffer.from(bbqrJoin(series.frames.map((f) => f.text)).data).equals(Buffer.from(psbt))).toBe(true);
  });

  it('a PSBT needing more than the allowed parts is refused: use the file', () => {
    expect(() => psbtQrSeries(new Uint8Array(20 * 305 + 1))).toThrow(/too large for QR \(21 BBQr parts, at most 20\): use the file/);
    expect(psbtQrSeries(new Uint8Array(20 * 305)).frames.length).toBe(20);
    expect(() => psbtQrSeries(new Uint8Array(400), { maxParts: 1 })).toThrow(/too large for QR/);
  });
});
