import { createInterface, type Interface } from 'node:readline';
import { CodedError } from '../core/errors.js';

/**
 * How both programs read a person or a script:
 *
 * - on a terminal (stdin is a TTY), one line in raw mode, with or without
 *   echo, so a password or mnemonic never appears on screen or in the
 *   terminal's scrollback; Ctrl-C and Ctrl-D on an empty line cancel;
 * - from a pipe, plain lines in order, shared by every caller of one run
 *   (init reads its three backup answers one after the other).
 *
 * Prompts go to stderr, like every message: stdout is data only.
 */

/** True when stdin is a terminal, so we may prompt a person. */
export function stdinIsTerminal(): boolean {
  return Boolean(process.stdin.isTTY);
}

/**
 * Read one line from the terminal. With `echo: false` nothing is shown as the
 * operator types; Backspace and Ctrl-U edit the line.
 */
export async function readTerminalLine(prompt: string, options: { echo: boolean }): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new CodedError('INTERNAL', 'readTerminalLine called without a terminal');
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise<string>((resolve, reject) => {
    let line = '';
    const finish = (error?: CodedError): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(line);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003' || (ch === '\u0004' && line === '')) return finish(new CodedError('CANCELLED', 'cancelled at the prompt; nothing was written'));
        if (ch === '\u007f' || ch === '\b') {
          if (line !== '') {
            line = Array.from(line).slice(0, -1).join('');
            if (options.echo) process.stderr.write('\b \b');
          }
        } else if (ch === '\u0015') {
          if (options.echo) process.stderr.write('\b \b'.repeat(Array.from(line).length));
          line = '';
        } else if (ch >= ' ') {
          line += ch;
          if (options.echo) process.stderr.write(ch);
        }
      }
    };
    stdin.on('data', onData);
  });
}

let lines: { rl: Interface; it: AsyncIterator<string> } | undefined;

/**
 * The next line of a piped stdin, without its line ending, or `undefined` at
 * end of input. Lines are read in order across calls.
 */
export async function readStdinLine(): Promise<string | undefined> {
  if (!lines) {
    const rl = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity });
    lines = { rl, it: rl[Symbol.asyncIterator]() };
  }
  const next = await lines.it.next();
  return next.done ? undefined : next.value;
}

/** Stop reading stdin so the process can exit even if the writer keeps the pipe open. */
export function closeStdin(): void {
  if (lines) {
    lines.rl.close();
    lines = undefined;
  }
  process.stdin.pause();
}
