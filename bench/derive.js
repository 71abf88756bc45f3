// Derivation benchmark: addresses per second for 10,000 and 100,000 receive
// addresses of a BIP84 account, the way `coldpool-offline derive` and
// `coldpool pool load` derive them (chain node once, worker thread per core),
// and the single-thread kernel for comparison. Run: npm run bench:derive
import { availableParallelism } from 'node:os';
import { parseAccountDescriptor } from '../dist/core/descriptor.js';
import { chainNode, deriveAddresses } from '../dist/core/derive.js';
import { ecBackend } from '../dist/core/ec-add.js';
import { NETWORKS } from '../dist/core/network.js';
import { deriveRange } from '../dist/flows/derive-range.js';

// BIP84's test account (mnemonic "abandon … about"): public, never funded on purpose.
const ZPUB = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
const account = parseAccountDescriptor(ZPUB, NETWORKS.mainnet);

async function parallel(count) {
  const t = performance.now();
  let n = 0;
  for await (const c of deriveRange(account, 0, 0, count)) n += c.addresses.length;
  if (n !== count) throw new Error(`derived ${n}, expected ${count}`);
  return count / ((performance.now() - t) / 1000);
}

function single(count) {
  const t = performance.now();
  deriveAddresses(chainNode(account, 0), NETWORKS.mainnet, 0, count);
  return count / ((performance.now() - t) / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = Number(process.env.BENCH_RUNS ?? 3);
console.log(`derive: ec backend ${ecBackend}, ${availableParallelism()} cores, node ${process.version}, median of ${runs} runs`);
await parallel(5_000); // warm-up: JIT, worker start-up code paths
for (const count of [10_000, 100_000]) {
  const rates = [];
  for (let r = 0; r < runs; r++) rates.push(await parallel(count));
  console.log(`derive ${count.toLocaleString('en')} addresses, all cores: ${Math.round(median(rates)).toLocaleString('en')} addresses/s`);
}
const rates = [];
for (let r = 0; r < runs; r++) rates.push(single(10_000));
console.log(`derive 10,000 addresses, one thread: ${Math.round(median(rates)).toLocaleString('en')} addresses/s`);
