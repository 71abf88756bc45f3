// Child process of test/set-concurrency.test.ts: opens the SQLite pool file
// given as argv[2] through the built store and gives argv[3] users (named
// after worker argv[5]) a set of argv[4] addresses each, printing a final
// summary: the sets it got and how many signups met an empty pool.
import { openDatabase } from '../../dist/store/db.js';

const [path, usersText, sizeText, worker] = process.argv.slice(2);
const db = openDatabase(`sqlite:${path}`);
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.destroy();
const sets = [];
let empty = 0;
for (let i = 0; i < Number(usersText); i++) {
  const user = `w${worker}-u${i}`;
  try {
    const r = await db.pool.assign(user, Number(sizeText));
    sets.push({ user, addresses: r.added.map((a) => a.address) });
    // A web worker signs users up per request, not in a tight loop (see sqlite-claimer.mjs).
    await new Promise((resolve) => setTimeout(resolve, 0));
  } catch (e) {
    if (e.code === 'POOL_EMPTY') { empty++; continue; }
    process.stdout.write(`${JSON.stringify({ error: String(e), code: e.code })}\n`);
    process.exitCode = 1;
    break;
  }
}
await db.close();
process.stdout.write(`${JSON.stringify({ sets, empty })}\n`);
