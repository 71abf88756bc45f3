// Preloaded with `node --import` by test/cli-startup.test.ts: records every
// module the process resolves, one URL per line, in $COLDPOOL_TEST_LOADS.
import { register } from 'node:module';

register(new URL('./record-loads-hooks.mjs', import.meta.url));
