#!/usr/bin/env node
// Thin launcher: the air-gapped signer. Never opens a socket.
import { main } from '../dist/cli/offline/main.js';

process.exitCode = await main(process.argv.slice(2));
