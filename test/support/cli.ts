/**
 * Run the real, built CLIs (`bin/coldpool.js`, `bin/coldpool-offline.js`) as
 * child processes, the way an operator or a script does. `npm test` builds
 * dist/ first (pretest).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly input?: string;
  readonly cwd?: string;
  readonly env?: Record<string, string | undefined>;
  readonly timeoutMs?: number;
}

export function runCli(program: 'coldpool' | 'coldpool-offline', args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', `${program}.js`), ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** stdout of a run that must succeed; otherwise an error carrying the exit code and both streams. */
export function cliOk(r: CliResult): string {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** The JSON a `--json` run that must succeed printed. */
export function cliJson<T = Record<string, unknown>>(r: CliResult): T {
  return JSON.parse(cliOk(r)) as T;
}

export function tempDir(prefix = 'coldpool-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Run a program's `main()` in this process with captured output: the same
 * argv parsing, commands and exit-code table as the spawned bin, without
 * Node's start-up per call. For long tables of refusals; keep a few spawned
 * runs (runCli) beside them for the process boundary itself.
 */
export async function runInProcess(program: 'coldpool' | 'coldpool-offline', args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const mod = program === 'coldpool'
    ? await import('../../src/cli/online/main.js')
    : await import('../../src/cli/offline/main.js');
  let stdout = '';
  let stderr = '';
  const out = {
    data: (t: string) => void (stdout += t.endsWith('\n') ? t : `${t}\n`),
    say: (t: string) => void (stderr += t.endsWith('\n') ? t : `${t}\n`),
    interactive: false,
  };
  const code = await mod.main([...args], out);
  return { code, stdout, stderr };
}
