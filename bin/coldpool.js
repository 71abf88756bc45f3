#!/usr/bin/env node
// Thin launcher: the online program (web host, watcher, operator box). Holds no key code.
import { main } from '../dist/cli/online/main.js';

// `coldpool … | head` closes stdout early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

process.exitCode = await main(process.argv.slice(2));
