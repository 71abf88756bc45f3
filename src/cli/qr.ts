import { createRequire } from 'node:module';
import type { QRCode as QrSymbol } from 'qrcode';
import { bbqrPartCount, bbqrSplit } from '../core/bbqr.js';
import { CodedError } from '../core/errors.js';

/**
 * Terminal QR codes for `payout build --qr`: the PSBT framed as BBQr parts
 * (src/core/bbqr.ts), each drawn as a QR code (alphanumeric mode, error
 * correction L, as the BBQr spec recommends) with half-block characters: two
 * module rows per text line, `█` both dark, `▀` top dark, `▄` bottom dark,
 * space both light, and a quiet zone of 4 light modules around. Every part is
 * drawn at the same QR version (the spec: a change of resolution in a series
 * is jarring for the scanner).
 */

/** Default longest QR text per part: ≤ 500 alphanumerics fit QR version 12 (65×65) at level L. */
export const QR_MAX_CHARS = 500;
/** Default most parts we are willing to show; beyond it, use the file. */
export const QR_MAX_PARTS = 20;
const QUIET = 4;

export interface QrFrame {
  /** The BBQr text this QR code carries. */
  readonly text: string;
  /** Half-block drawing, one string per terminal line (dark module = ink). */
  readonly lines: string[];
}

export interface QrSeries {
  readonly version: number;
  readonly frames: QrFrame[];
}

function create(text: string, version?: number): QrSymbol {
  // Loaded on first use: `coldpool` commands that draw no QR should not pay for it at start-up.
  const QRCode = createRequire(import.meta.url)('qrcode') as typeof import('qrcode');
  return QRCode.create([{ data: text, mode: 'alphanumeric' }], { errorCorrectionLevel: 'L', ...(version ? { version } : {}) });
}

/** Module matrix → half-block lines with a quiet zone. */
export function drawMatrix(size: number, dark: (row: number, col: number) => boolean): string[] {
  const full = size + 2 * QUIET;
  const at = (r: number, c: number): boolean => r >= QUIET && c >= QUIET && r < QUIET + size && c < QUIET + size && dark(r - QUIET, c - QUIET);
  const lines: string[] = [];
  for (let r = 0; r < full; r += 2) {
    let line = '';
    for (let c = 0; c < full; c++) {
      const top = at(r, c);
      const bottom = r + 1 < full && at(r + 1, c);
      line += top ? (bottom ? '█' : '▀') : bottom ? '▄' : ' ';
    }
    lines.push(line);
  }
  return lines;
}

/** Inverse of drawMatrix (for tests): the module matrix inside the quiet zone. */
export function readDrawing(lines: readonly string[]): boolean[][] {
  const rows: boolean[][] = [];
  for (const line of lines) {
    const chars = Array.from(line);
    rows.push(chars.map((ch) => ch === '█' || ch === '▀'));
    rows.push(chars.map((ch) => ch === '█' || ch === '▄'));
  }
  const full = Array.from(lines[0] ?? '').length;
  return rows.slice(QUIET, full - QUIET).map((r) => r.slice(QUIET, full - QUIET));
}

/** The module matrix `qrcode` makes for `text` at `version` (level L, alphanumeric). */
export function qrModules(text: string, version?: number): boolean[][] {
  const m = create(text, version).modules;
  return Array.from({ length: m.size }, (_, r) => Array.from({ length: m.size }, (_, c) => m.get(r, c) === 1));
}

/**
 * The PSBT as a series of terminal QR codes, or a USAGE error when it needs
 * more than `maxParts` parts ("too large for QR: use the file").
 */
export function psbtQrSeries(psbt: Uint8Array, opts: { maxParts?: number; maxChars?: number; what?: string } = {}): QrSeries {
  const maxParts = opts.maxParts ?? QR_MAX_PARTS;
  const maxChars = opts.maxChars ?? QR_MAX_CHARS;
  const count = bbqrPartCount(psbt.length, { encoding: '2', maxChars });
  if (count > maxParts) {
    throw new CodedError('USAGE', `${opts.what ?? 'the PSBT'} is ${psbt.length} bytes: too large for QR (${count} BBQr parts, at most ${maxParts}): use the file`, {
      hint: 'carry the .psbt file to the signer, or raise --qr-max-parts',
    });
  }
  const parts = bbqrSplit(psbt, { encoding: '2', fileType: 'P', maxChars });
  const version = Math.max(...parts.map((p) => create(p).version));
  const frames = parts.map((text) => {
    const m = create(text, version).modules;
    return { text, lines: drawMatrix(m.size, (r, c) => m.get(r, c) === 1) };
  });
  return { version, frames };
}
