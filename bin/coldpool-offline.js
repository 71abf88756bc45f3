#!/usr/bin/env node
// Thin launcher: the air-gapped signer. Never opens a socket.
import { main } from '../dist/cli/offline/main.js';

// `coldpool … | head` closes stdout early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

process.exitCode = await main(process.argv.slice(2));
