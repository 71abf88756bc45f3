import { Command } from 'commander';
import { runProgram } from '../run.js';
import { processOutput, type Output } from '../output.js';
import { registerDerive } from './derive.js';
import { registerExport } from './export.js';
import { registerInit } from './init.js';
import { registerInspect } from './inspect.js';
import { registerRestore } from './restore.js';
import { registerSign } from './sign.js';

/**
 * `coldpool-offline`: the air-gapped signer. It reads and writes files and the
 * terminal only; an import-graph test checks it never pulls in store, chain
 * or notify code, and that the online program never pulls in src/keys.
 */
export function buildOfflineProgram(out: Output = processOutput): Command {
  const program = new Command('coldpool-offline')
    .description('The air-gapped half of coldpool: seed, keystore, account export, address batches, PSBT review and signing.\nRun it on a machine with no network. It never opens a socket.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');
  registerInit(program, out);
  registerRestore(program, out);
  registerExport(program, out);
  registerDerive(program, out);
  registerInspect(program, out);
  registerSign(program, out);
  return program;
}

export async function main(argv: string[], out: Output = processOutput): Promise<number> {
  return runProgram(buildOfflineProgram(out), argv, out);
}
