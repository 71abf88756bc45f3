import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeNode, RPC_PASSWORD } from './support/fake-node.js';
import { canonicalDump, preparePool, syncOnce, withChainStore } from './support/chain-fixtures.js';
import { ROOT, runCli } from './support/cli.js';
import { tempSqliteUrl } from './support/pool-fixtures.js';
import { RegtestChain, otherKey, poolKey, spend, type Utxo } from './support/regtest-chain.js';

/**
 * The real CLI (`bin/coldpool.js`, built dist/) against the fake node running
 * in this process: SIGKILLed at random points during a sync of a few hundred
 * blocks, it resumes and ends identical to an uninterrupted sync; `chain
 * status`, `deposits list` and a node that is down, through the CLI.
 */
const BLOCKS = 250;
let chain: RegtestChain;
let node: FakeNode;
const cleanups: (() => void)[] = [];

/** Deposits every 3rd block, a spend with change every 10th. */
function longChain(): RegtestChain {
  const c = RegtestChain.create();
  const ours: Utxo[] = [];
  let change = 0;
  for (let h = 1; h <= BLOCKS; h++) {
    const txs = [];
    if (h >= 2 && h % 3 === 0) {
      const f = c.coinbaseUtxos(h - 1)[0]!;
      const i = h % 40;
      const value = BigInt(100_000 + h);
      const tx = spend([f], [{ key: poolKey(0, i), valueSat: value }, { key: otherKey(9), valueSat: f.valueSat - value - 1000n }]);
      txs.push(tx);
      ours.push({ txid: tx.getId(), vout: 0, valueSat: value, key: poolKey(0, i) });
    }
    if (h % 10 === 0 && ours.length > 2) {
      const coin = ours.shift()!;
      const tx = spend([coin], [{ key: otherKey(5), valueSat: coin.valueSat / 2n }, { key: poolKey(1, change), valueSat: coin.valueSat / 2n - 500n }]);
      ours.push({ txid: tx.getId(), vout: 1, valueSat: coin.valueSat / 2n - 500n, key: poolKey(1, change++) });
      txs.push(tx);
    }
    c.mine(txs);
  }
  return c;
}

beforeAll(async () => {
  chain = longChain();
  node = await new FakeNode(chain).start();
});

afterAll(async () => {
  await node.stop();
  cleanups.splice(0).forEach((c) => c());
});

async function pool(): Promise<{ url: string; path: string }> {
  const t = tempSqliteUrl();
  cleanups.push(t.cleanup);
  await preparePool(t.url);
  return t;
}

let clean: Promise<{ url: string }> | undefined;
/** One uninterrupted in-process sync of the long chain, shared by the tests that only read it. */
function cleanSync(): Promise<{ url: string }> {
  clean ??= (async () => {
    const p = await pool();
    await syncOnce(p.url, node, 'esplora');
    return p;
  })();
  return clean;
}

/**
 * Run the CLI and SIGKILL it once the node has served it `afterBlocks` blocks
 * (plus 0-20 ms, so the kill lands anywhere in fetching, scanning or
 * committing): random points in the sync whatever this machine's speed.
 */
function runUntilKilled(args: string[], afterBlocks: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'coldpool.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let served = 0;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    node.onRequest = (entry) => {
      if (entry === 'rpc getblock' && ++served === afterBlocks) setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 20));
    };
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      node.onRequest = undefined;
      resolve({ code, signal, stderr });
    });
  });
}

describe('coldpool chain sync, the real CLI', () => {
  it(`SIGKILLed at 10 random points of a ${BLOCKS}-block sync, it resumes each time and ends identical to an uninterrupted sync`, async () => {
    const { url } = await pool();
    const args = ['chain', 'sync', '--node', node.rpcUrl, '--from-height', '1', '--db', url, '--json'];
    const heights: number[] = [];
    let killed = 0;
    for (let k = 0; k < 10; k++) {
      const r = await runUntilKilled(args, 1 + Math.floor(Math.random() * 40));
      if (r.signal === 'SIGKILL') killed++;
      else expect(r.code, r.stderr).toBe(0);
      const state = await withChainStore(url, async (s) => ({ tip: await s.tip(), first: await s.firstHeight(), dump: await s.dump() }));
      const blocks = state.dump.split('\n').filter((l) => l.startsWith('block ')).length;
      if (state.tip) expect(blocks).toBe(state.tip.height - state.first! + 1); // contiguous: no half-committed block
      heights.push(state.tip?.height ?? 0);
    }
    const final = await runCli('coldpool', args, { timeoutMs: 60_000 });
    expect(final.code, final.stderr).toBe(0);
    expect(JSON.parse(final.stdout)).toMatchObject({ tip: { height: BLOCKS, hash: chain.tip.hash }, stopped: false });
    expect(killed).toBeGreaterThan(0);
    expect(heights.some((h) => h > 0 && h < BLOCKS)).toBe(true); // some kills landed mid-sync
    heights.forEach((h, i) => expect(h).toBeGreaterThanOrEqual(heights[i - 1] ?? 0)); // committed blocks are never lost

    expect(await canonicalDump(url)).toBe(await canonicalDump((await cleanSync()).url));
  }, 240_000); // eleven process runs of a 250-block sync: minutes on a loaded two-core box

  it('chain status and deposits list print what was found (--json, sats as strings); --user filters', async () => {
    const { url } = await cleanSync();
    const status = await runCli('coldpool', ['chain', 'status', '--db', url, '--json', '--min-conf', '6']);
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as { synced: { height: number }; spendableSat: string; confirmedSat: string; coins: { spendable: boolean; confirmations: number }[] };
    expect(s.synced.height).toBe(BLOCKS);
    expect(typeof s.spendableSat).toBe('string');
    expect(BigInt(s.spendableSat)).toBeLessThan(BigInt(s.confirmedSat));
    for (const c of s.coins) expect(c.spendable).toBe(c.confirmations >= 6);

    const all = JSON.parse((await runCli('coldpool', ['deposits', 'list', '--db', url, '--json'])).stdout) as { user: string | null; amountSat: string; confirmations: number }[];
    expect(all.length).toBe(Math.floor(BLOCKS / 3));
    const user = all.find((d) => d.user !== null)!.user!;
    const mine = JSON.parse((await runCli('coldpool', ['deposits', 'list', '--db', url, '--json', '--user', user])).stdout) as { user: string }[];
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((d) => d.user === user)).toBe(true);
    const text = await runCli('coldpool', ['deposits', 'list', '--db', url]);
    expect(text.stdout.split('\n')[0]).toMatch(/^address\s+user\s+txid:vout\s+BTC\s+height\s+conf/);
  });

  it('chain sync prints one line, and --help documents the node options', async () => {
    const { url } = await pool();
    const short = chain.fork(30);
    node.setChain(short);
    try {
      const sync = await runCli('coldpool', ['chain', 'sync', '--esplora', node.esploraUrl, '--from-height', '1', '--db', url]);
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.stdout).toMatch(new RegExp(`^synced to 30 ${short.tip.hash}: 30 block\\(s\\)`));
      expect(sync.stderr).toMatch(/scanning blocks 1\.\.30 for \d+ scripts of the account/);
    } finally {
      node.setChain(chain);
    }
    const help = await runCli('coldpool', ['chain', 'sync', '--help']);
    expect(help.stdout).toMatch(/--rpc-cookie <file>/);
    expect(help.stdout).toMatch(/--esplora <url>/);
  });

  it('a node that is down: exit code 5, the node and the call named on stderr, never the password', async () => {
    const { url } = await pool();
    node.faults = { down: true };
    try {
      const r = await runCli('coldpool', ['chain', 'sync', '--node', node.rpcUrl, '--retries', '1', '--db', url]);
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(/error: bitcoind http:\/\/coldpool@127\.0\.0\.1:\d+ did not answer getblockchaininfo\(\)/);
      expect(r.stderr + r.stdout).not.toContain(RPC_PASSWORD);
      const j = await runCli('coldpool', ['chain', 'sync', '--node', node.rpcUrl, '--retries', '0', '--db', url, '--json']);
      expect(j.code).toBe(5);
      expect(JSON.parse(j.stderr)).toMatchObject({ error: { code: 'UNAVAILABLE' } });
      expect(j.stderr).not.toContain(RPC_PASSWORD);
    } finally {
      node.faults = {};
    }
    const none = await runCli('coldpool', ['chain', 'sync', '--db', url], { env: { COLDPOOL_NODE: undefined, COLDPOOL_ESPLORA: undefined, COLDPOOL_RPC_COOKIE: undefined } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no node to read the chain from/);
  });

  it('chain follow: picks up a new block and a mempool deposit, and stops cleanly on SIGTERM', async () => {
    const { url } = await pool();
    await syncOnce(url, node, 'rpc');
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'coldpool.js'), 'chain', 'follow', '--node', node.rpcUrl, '--interval', '1', '--db', url], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const waitFor = async (re: RegExp) => {
      for (let i = 0; i < 100 && !re.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
      expect(stderr).toMatch(re);
    };
    const grown = chain.fork(chain.height);
    try {
      await waitFor(new RegExp(`at ${BLOCKS} `));
      const f = grown.coinbaseUtxos(BLOCKS)[1]!;
      const txM = spend([f], [{ key: poolKey(0, 39), valueSat: 777_000n }, { key: otherKey(9), valueSat: f.valueSat - 778_000n }]);
      node.addToMempool(txM);
      await waitFor(/mempool: 1 unconfirmed output/);
      const unconfirmed = await withChainStore(url, (s) => s.deposits());
      expect(unconfirmed.find((d) => d.txid === txM.getId())).toMatchObject({ height: undefined, confirmations: 0 });
      grown.mine([txM]);
      node.setChain(grown);
      await waitFor(new RegExp(`at ${BLOCKS + 1} `));
      child.kill('SIGTERM');
      expect(await closed).toBe(0);
      expect(stderr).toMatch(/stopped/);
      expect((await withChainStore(url, (s) => s.deposits())).find((d) => d.txid === txM.getId())).toMatchObject({ height: BLOCKS + 1, confirmations: 1 });
    } finally {
      child.kill('SIGKILL');
      node.setChain(chain);
      node.mempool.clear();
    }
  });
});
