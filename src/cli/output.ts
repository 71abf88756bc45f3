/**
 * How both programs talk: stdout carries data only (a table or `--json`),
 * everything meant for a person goes to stderr. Kept behind one small
 * interface so tests can capture it and commands never touch process.*.
 */
export interface Output {
  /** Data for scripts or the operator (stdout). */
  data(text: string): void;
  /** A message for the person (stderr). */
  say(text: string): void;
  /** True when stderr is a terminal: progress bars and colour only then. */
  readonly interactive: boolean;
}

export const processOutput: Output = {
  data: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  say: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  get interactive() {
    return Boolean(process.stderr.isTTY);
  },
};

/** JSON for `--json`: bigints (satoshis) become strings, as in `"amount_sat":"150000"`. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

/** Left-aligned plain-text table, the default human output. */
export function table(headers: string[], rows: (string | number | bigint)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
