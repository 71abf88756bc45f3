import type { Command } from 'commander';
import type { Output } from '../output.js';

export function registerDerive(program: Command, out: Output): void {
  void out;
  program.command('derive').description('(being written)');
}
