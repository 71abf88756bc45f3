import { createHash } from 'node:crypto';
import { CodedError, show } from './errors.js';
import { MAX_INDEX } from './bip32-index.js';
import { NETWORK_NAMES, type NetworkName } from './network.js';

/**
 * The address batch file: what `coldpool-offline derive` writes and
 * `coldpool pool load` reads. Plain CSV a person can read and a PHP script can
 * parse, with its own metadata and a digest over everything before the last
 * line, so any edit is caught before the pool is touched:
 *
 * ```
 * # coldpool address batch
 * # format: 1
 * # network: mainnet
 * # descriptor: wpkh([73c5da0a/84h/0h/0h]xpub…/<0;1>/*)#checksum
 * # chain: 0
 * # first: 0
 * # count: 10000
 * # created: 2026-11-29T15:00:00.000Z
 * index,address
 * 0,bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu
 * …
 * # sha256: <64 hex of every byte above this line>
 * ```
 *
 * The digest detects accidents and casual edits; it is not a signature (who
 * edits the file can recompute it), which is why the loader also re-derives
 * every address from the descriptor.
 */
export const BATCH_FORMAT_VERSION = 1;
export const BATCH_MAGIC = '# coldpool address batch';
const COLUMNS = 'index,address';
const FIELDS = ['format', 'network', 'descriptor', 'chain', 'first', 'count', 'created'] as const;

export interface BatchMeta {
  readonly network: NetworkName;
  /** The account descriptor (multipath form, with checksum). */
  readonly descriptor: string;
  readonly chain: 0 | 1;
  readonly first: number;
  readonly count: number;
  /** ISO-8601 UTC creation time: the account's birthday for chain scans. */
  readonly created: string;
}

export interface BatchFile {
  readonly meta: BatchMeta;
  /** addresses[k] is the address at index meta.first + k. */
  readonly addresses: string[];
  /** Hex sha256 from the last line (verified). */
  readonly digest: string;
}

/** The header, up to and including the `index,address` line. */
export function formatBatchHeader(meta: BatchMeta): string {
  return [
    BATCH_MAGIC,
    `# format: ${BATCH_FORMAT_VERSION}`,
    `# network: ${meta.network}`,
    `# descriptor: ${meta.descriptor}`,
    `# chain: ${meta.chain}`,
    `# first: ${meta.first}`,
    `# count: ${meta.count}`,
    `# created: ${meta.created}`,
    COLUMNS,
    '',
  ].join('\n');
}

/** One data row. */
export function formatBatchRow(index: number, address: string): string {
  return `${index},${address}\n`;
}

/** The last line, given the hex sha256 of everything before it. */
export function formatBatchTrailer(digestHex: string): string {
  return `# sha256: ${digestHex}\n`;
}

/** A whole batch file in memory (tests and small batches; `derive` streams). */
export function formatBatchFile(meta: BatchMeta, addresses: readonly string[]): string {
  let body = formatBatchHeader(meta);
  addresses.forEach((a, k) => (body += formatBatchRow(meta.first + k, a)));
  return body + formatBatchTrailer(createHash('sha256').update(body).digest('hex'));
}

/**
 * The row count a batch file's header claims, read without checking
 * anything, or undefined: a hint for sizing work (starting derivation
 * threads) before `parseBatchFile` has verified the file. Never trust it.
 */
export function batchCountHint(bytes: Uint8Array): number | undefined {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 2048)).toString('latin1');
  const m = /\n# count: (\d{1,10})\n/.exec(head);
  return m ? Number(m[1]) : undefined;
}

function bad(message: string, hint?: string): CodedError {
  return new CodedError('INVALID_INPUT', `batch file: ${message}`, hint ? { hint } : {});
}

/**
 * Parse and verify a batch file's bytes: digest first (so a truncated or
 * edited file fails on the digest and nothing else is trusted), then the
 * header, then every row. Does not re-derive addresses: that needs the
 * account and lives in flows/load-batch.
 */
export function parseBatchFile(bytes: Uint8Array): BatchFile {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length === 0) throw bad('the file is empty');
  if (!buf.subarray(0, BATCH_MAGIC.length).equals(Buffer.from(BATCH_MAGIC))) {
    throw bad(`expected first line ${JSON.stringify(BATCH_MAGIC)}; this is not a coldpool batch file (or its start is damaged)`);
  }
  if (buf[buf.length - 1] !== 0x0a) throw bad('the file does not end with a newline: it is truncated', 'copy the file again from the signer');
  const lastStart = buf.lastIndexOf(0x0a, buf.length - 2) + 1;
  const lastLine = buf.subarray(lastStart, buf.length - 1).toString('latin1');
  const m = /^# sha256: ([0-9a-f]{64})$/.exec(lastLine);
  if (!m) throw bad(`the last line must be "# sha256: <64 hex>", got ${show(lastLine)}: the file is truncated or its digest line was changed`);
  const digest = m[1]!;
  const actual = createHash('sha256').update(buf.subarray(0, lastStart)).digest('hex');
  if (actual !== digest) {
    throw new CodedError('CHECKSUM', `batch file: sha256 mismatch: the file says ${digest.slice(0, 16)}…, its content gives ${actual.slice(0, 16)}…; it was edited or damaged`, {
      hint: 'never edit a batch file; derive it again on the signer',
    });
  }
  const text = buf.subarray(0, lastStart).toString('utf8');
  const lines = text.split('\n');
  lines.pop(); // text ends with \n
  const meta = parseHeader(lines);
  const rows = lines.length - FIELDS.length - 2;
  if (rows !== meta.count) throw bad(`the header says count ${meta.count} but the file has ${rows} rows`);
  const addresses = new Array<string>(meta.count);
  for (let k = 0; k < meta.count; k++) {
    const line = lines[FIELDS.length + 2 + k]!;
    const comma = line.indexOf(',');
    const index = comma > 0 ? line.slice(0, comma) : '';
    const want = String(meta.first + k);
    if (index !== want) {
      throw bad(`row ${k + 1}: expected index ${want}, got ${show(index || line)}: indexes must be contiguous from "first"`);
    }
    const address = line.slice(comma + 1);
    if (!/^[a-z0-9]{14,90}$/.test(address)) throw bad(`row ${k + 1} (index ${want}): malformed address ${show(address)}`);
    addresses[k] = address;
  }
  return { meta, addresses, digest };
}

function parseHeader(lines: string[]): BatchMeta {
  if (lines[0] !== BATCH_MAGIC) throw bad('first line is damaged');
  const values: Record<string, string> = {};
  FIELDS.forEach((field, i) => {
    const line = lines[i + 1] ?? '';
    const prefix = `# ${field}: `;
    if (!line.startsWith(prefix)) throw bad(`header line ${i + 2}: expected "${prefix}…", got ${show(line)}`);
    values[field] = line.slice(prefix.length);
  });
  if (values.format !== String(BATCH_FORMAT_VERSION)) {
    throw bad(`format ${show(values.format)} is not supported (this program reads format ${BATCH_FORMAT_VERSION})`, 'use the same coldpool version on the signer and the web host');
  }
  if (lines[FIELDS.length + 1] !== COLUMNS) throw bad(`expected the column line "${COLUMNS}"`);
  const network = values.network as NetworkName;
  if (!(NETWORK_NAMES as readonly string[]).includes(network)) throw bad(`unknown network ${show(values.network)}`);
  const chain = values.chain === '0' ? 0 : values.chain === '1' ? 1 : undefined;
  if (chain === undefined) throw bad(`chain expected 0 or 1, got ${show(values.chain)}`);
  const first = strictInt(values.first!, 'first', 0, MAX_INDEX);
  const count = strictInt(values.count!, 'count', 1, MAX_INDEX + 1);
  if (first + count - 1 > MAX_INDEX) throw bad(`range ${first}+${count} runs past index ${MAX_INDEX}`);
  const created = values.created!;
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/.test(created) || Number.isNaN(Date.parse(created))) {
    throw bad(`created expected an ISO-8601 UTC time, got ${show(created)}`);
  }
  return { network, descriptor: values.descriptor!, chain, first, count, created };
}

function strictInt(text: string, field: string, min: number, max: number): number {
  const n = /^(0|[1-9]\d*)$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw bad(`${field} expected an integer ${min}..${max}, got ${show(text)}`);
  return n;
}
