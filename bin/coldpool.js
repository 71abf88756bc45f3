#!/usr/bin/env node
// Thin launcher: the online program (web host, watcher, operator box). Holds no key code.
import { main } from '../dist/cli/online/main.js';

process.exitCode = await main(process.argv.slice(2));
