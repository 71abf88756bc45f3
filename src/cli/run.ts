import { Command, CommanderError } from 'commander';
import { CodedError } from '../core/errors.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { processOutput, toJson, type Output } from './output.js';

/**
 * Run a commander program and turn every outcome into an exit code from the
 * one table. Commands throw; only here is a code chosen, and no command calls
 * process.exit, so a test can run `main()` in-process.
 *
 * Errors print as one line `error: <message>` (+ `hint:`) on stderr, or as a
 * JSON object `{"error":{code,message,hint}}` on stderr when `--json` was given.
 */
export async function runProgram(program: Command, argv: string[], out: Output = processOutput): Promise<number> {
  program.exitOverride();
  program.configureOutput({
    writeOut: (s) => out.data(s),
    writeErr: (s) => out.say(s),
    outputError: (s) => out.say(s.trimEnd()),
  });
  for (const sub of allCommands(program)) sub.exitOverride();
  // Help texts are broken into lines of up to ~110 characters by hand; wrapping them again at
  // commander's default 80 columns (what a pipe or a non-terminal gets) leaves every other line
  // a stub. A wider terminal still gets its own width.
  const helpWidth = Math.max(process.stdout.columns ?? 0, HELP_WIDTH);
  for (const c of [program, ...allCommands(program)]) c.configureHelp({ ...c.configureHelp(), helpWidth });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exitCode 0; parse errors are already printed.
      return e.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    reportError(e, argv.includes('--json'), out);
    return exitCodeFor(e);
  }
}

/** The narrowest help layout: the hand-broken lines of the descriptions fit. */
const HELP_WIDTH = 120;

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

function reportError(e: unknown, json: boolean, out: Output): void {
  const coded = e instanceof CodedError ? e : undefined;
  const message = coded ? coded.message : e instanceof Error ? `unexpected: ${e.message}` : `unexpected: ${String(e)}`;
  if (json) {
    out.say(toJson({ error: { code: coded?.code ?? 'INTERNAL', message, hint: coded?.hint, context: coded?.context } }));
    return;
  }
  out.say(`error: ${message}`);
  if (coded?.hint) out.say(`hint: ${coded.hint}`);
  if (!coded && e instanceof Error && process.env.COLDPOOL_DEBUG) out.say(e.stack ?? '');
}

/** Parse an integer option exactly (no `1e3`, no `12abc`, no floats). */
export function parseIntegerOption(name: string, text: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text.trim())) {
    throw new CodedError('USAGE', `"${name}" expected an integer ${min}..${max}, got ${JSON.stringify(text)}`);
  }
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CodedError('USAGE', `"${name}" expected an integer ${min}..${max}, got ${text.trim()}`);
  }
  return n;
}
