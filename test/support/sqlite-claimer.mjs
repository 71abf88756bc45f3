// Child process of test/claim-concurrency.test.ts: opens the SQLite pool file
// given as argv[2] through the built store and claims until the pool is empty
// (or argv[3] claims), printing one JSON line per claim and a final summary.
import { openDatabase } from '../../dist/store/db.js';

const [path, maxText, worker] = process.argv.slice(2);
const db = openDatabase(`sqlite:${path}`);
const store = db.pool;
const max = Number(maxText);
// Start claiming together: the parent says "go" on stdin once every claimer is
// ready, so a claimer that starts early (a busy machine) cannot drain the pool alone.
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.destroy();
const claimed = [];
let empty = false;
for (let i = 0; i < max; i++) {
  try {
    const c = await store.claim(`w${worker}-${i}`, i % 10 === 0 ? `ref-${worker}-${i}` : undefined);
    claimed.push(c.address);
    // A web worker claims per request, not in a tight loop; without a pause the
    // process that holds SQLite's lock takes it again at once and the others,
    // sleeping in the busy handler, may never get a turn (seen on a busy machine).
    await new Promise((resolve) => setTimeout(resolve, 0));
  } catch (e) {
    if (e.code === 'POOL_EMPTY') { empty = true; break; }
    process.stdout.write(`${JSON.stringify({ error: String(e), code: e.code })}\n`);
    process.exitCode = 1;
    break;
  }
}
await db.close();
process.stdout.write(`${JSON.stringify({ claimed, empty })}\n`);
