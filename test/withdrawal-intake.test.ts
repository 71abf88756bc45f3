import { bech32, bech32m } from 'bech32';
import * as bitcoin from 'bitcoinjs-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBtc } from '../src/core/amount.js';
import { isCoded } from '../src/core/errors.js';
import { NETWORKS, toBitcoinjs, type NetworkName } from '../src/core/network.js';
import { DEFAULT_POLICY } from '../src/core/withdrawal-policy.js';
import { requestWithdrawal } from '../src/flows/request-withdrawal.js';
import { openWithdrawalStore } from './support/open-repos.js';
import { segwitVectors } from './support/segwit-vectors.js';
import { mariadbBackend, runOnline, sqliteBackend, type Backend } from './support/withdrawal-backends.js';
import { approver, testTrust } from './support/approvers.js';

/**
 * One set of intake rules, three doors: the library (requestWithdrawal), the
 * CLI (`coldpool withdrawals request`), and a raw SQL INSERT that the operator
 * tool marks invalid the first time it reads it.
 */
const hash20 = Buffer.alloc(20, 0x11);
const addr = {
  p2pkh: (n: NetworkName) => bitcoin.payments.p2pkh({ hash: hash20, network: toBitcoinjs(NETWORKS[n]) }).address!,
  p2sh: (n: NetworkName) => bitcoin.payments.p2sh({ hash: hash20, network: toBitcoinjs(NETWORKS[n]) }).address!,
  p2wpkh: (n: NetworkName) => bitcoin.payments.p2wpkh({ hash: hash20, network: toBitcoinjs(NETWORKS[n]) }).address!,
};
const TB_P2WSH = 'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7';
const TB_P2TR = 'tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c';
const flip = (a: string, i: number) => a.slice(0, i) + (a[i] === 'q' ? 'p' : a[i] === '2' ? '3' : a[i] === 'a' ? 'b' : 'a') + a.slice(i + 1);
const seg = (enc: typeof bech32, hrp: string, version: number, bytes: number) => enc.encode(hrp, [version, ...enc.toWords(Buffer.alloc(bytes, 0x22))], 90);

interface Bad {
  readonly description: string;
  readonly network: NetworkName;
  readonly address: string;
  /** BTC text (the CLI's --amount, parsed by parseBtc for the library). */
  readonly amount: string;
  readonly reason: string;
}

const AMOUNT = '0.001';
const bip350 = segwitVectors('bip-0350-segwit-address-vectors.mediawiki');
const bip173 = segwitVectors('bip-0173-segwit-address-vectors.mediawiki');
const netOf = (a: string): NetworkName => (a.toLowerCase().startsWith('tb1') ? 'testnet' : 'mainnet');
const vectorReason = (why: string): string =>
  /instead of/.test(why) ? 'address_bech32_variant' : /Mixed case/.test(why) ? 'address_mixed_case' : /human-readable/.test(why) ? 'address_network'
    : /program length/.test(why) ? 'address_program_length' : /^Invalid witness version/.test(why) ? 'address_witness_version'
      : /padding/.test(why) ? 'address_padding' : /Empty data/.test(why) ? 'address_format' : 'address_checksum';

const BAD: Bad[] = [
  // BIP350 and BIP173 invalid vectors, each on its own network, with the reason the BIP gives
  ...bip350.invalid.map((v) => ({ description: `BIP350: ${v.reason}`, network: netOf(v.address), address: v.address, amount: AMOUNT, reason: vectorReason(v.reason!) })),
  ...bip173.invalid.map((v) => ({ description: `BIP173: ${v.reason}`, network: netOf(v.address), address: v.address, amount: AMOUNT, reason: vectorReason(v.reason!) })),
  ...bip173.valid.filter((v) => !v.scriptHex!.startsWith('00')).map((v) => ({ description: 'BIP173 v1+ in bech32 (BIP350 needs bech32m)', network: netOf(v.address), address: v.address, amount: AMOUNT, reason: 'address_bech32_variant' })),
  // wrong network
  { description: 'mainnet P2WPKH on a testnet pool', network: 'testnet', address: 'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', amount: AMOUNT, reason: 'address_network' },
  { description: 'mainnet P2PKH on a testnet pool', network: 'testnet', address: addr.p2pkh('mainnet'), amount: AMOUNT, reason: 'address_network' },
  { description: 'mainnet P2SH on a testnet pool', network: 'testnet', address: addr.p2sh('mainnet'), amount: AMOUNT, reason: 'address_network' },
  { description: 'regtest bcrt1 on a testnet pool', network: 'testnet', address: addr.p2wpkh('regtest'), amount: AMOUNT, reason: 'address_network' },
  { description: 'testnet P2TR on a mainnet pool', network: 'mainnet', address: TB_P2TR, amount: AMOUNT, reason: 'address_network' },
  { description: 'testnet P2PKH on a mainnet pool', network: 'mainnet', address: addr.p2pkh('testnet'), amount: AMOUNT, reason: 'address_network' },
  { description: 'testnet P2SH on a mainnet pool', network: 'mainnet', address: addr.p2sh('testnet'), amount: AMOUNT, reason: 'address_network' },
  { description: 'mainnet P2TR on a regtest pool', network: 'regtest', address: 'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', amount: AMOUNT, reason: 'address_network' },
  // bad checksums
  { description: 'P2PKH with one character changed', network: 'testnet', address: flip(addr.p2pkh('testnet'), 12), amount: AMOUNT, reason: 'address_checksum' },
  { description: 'P2SH with one character changed', network: 'testnet', address: flip(addr.p2sh('testnet'), 20), amount: AMOUNT, reason: 'address_checksum' },
  { description: 'P2WSH with its last character changed', network: 'testnet', address: flip(TB_P2WSH, TB_P2WSH.length - 1), amount: AMOUNT, reason: 'address_checksum' },
  { description: 'P2TR with a middle character changed', network: 'testnet', address: flip(TB_P2TR, 30), amount: AMOUNT, reason: 'address_checksum' },
  // encodings, versions and lengths that do not exist
  { description: 'P2TR program encoded with bech32', network: 'testnet', address: seg(bech32, 'tb', 1, 32), amount: AMOUNT, reason: 'address_bech32_variant' },
  { description: 'P2WPKH program encoded with bech32m', network: 'testnet', address: seg(bech32m, 'tb', 0, 20), amount: AMOUNT, reason: 'address_bech32_variant' },
  { description: 'witness v0 with 21 bytes', network: 'testnet', address: seg(bech32, 'tb', 0, 21), amount: AMOUNT, reason: 'address_program_length' },
  { description: 'witness v0 with 33 bytes', network: 'testnet', address: seg(bech32, 'tb', 0, 33), amount: AMOUNT, reason: 'address_program_length' },
  { description: 'witness v1 with 20 bytes', network: 'testnet', address: seg(bech32m, 'tb', 1, 20), amount: AMOUNT, reason: 'address_program_length' },
  { description: 'witness v2 with 41 bytes', network: 'testnet', address: seg(bech32m, 'tb', 2, 41), amount: AMOUNT, reason: 'address_program_length' },
  { description: 'witness v16 with 1 byte', network: 'testnet', address: seg(bech32m, 'tb', 16, 1), amount: AMOUNT, reason: 'address_program_length' },
  { description: 'witness version 17', network: 'testnet', address: seg(bech32m, 'tb', 17, 32), amount: AMOUNT, reason: 'address_witness_version' },
  { description: 'witness version 31', network: 'testnet', address: seg(bech32m, 'tb', 31, 32), amount: AMOUNT, reason: 'address_witness_version' },
  // mixed case and garbage
  { description: 'P2WSH in mixed case', network: 'testnet', address: TB_P2WSH.slice(0, 10) + TB_P2WSH.slice(10).toUpperCase(), amount: AMOUNT, reason: 'address_mixed_case' },
  { description: 'P2TR with one upper-case letter', network: 'testnet', address: `T${TB_P2TR.slice(1)}`, amount: AMOUNT, reason: 'address_mixed_case' },
  { description: 'empty address', network: 'testnet', address: '', amount: AMOUNT, reason: 'address_format' },
  { description: 'a word', network: 'testnet', address: 'hello', amount: AMOUNT, reason: 'address_format' },
  { description: 'address with a leading space', network: 'testnet', address: ` ${TB_P2WSH}`, amount: AMOUNT, reason: 'address_format' },
  { description: 'an email address', network: 'testnet', address: 'alice@example.com', amount: AMOUNT, reason: 'address_format' },
  // amounts
  { description: 'amount zero', network: 'testnet', address: TB_P2WSH, amount: '0', reason: 'amount_zero' },
  { description: 'amount 0.00000000', network: 'testnet', address: TB_P2WSH, amount: '0.00000000', reason: 'amount_zero' },
  { description: 'negative amount', network: 'testnet', address: TB_P2WSH, amount: '-0.001', reason: 'amount_sign' },
  { description: 'amount with a plus sign', network: 'testnet', address: TB_P2WSH, amount: '+0.001', reason: 'amount_sign' },
  { description: 'nine decimals', network: 'testnet', address: TB_P2WSH, amount: '0.000000001', reason: 'amount_too_precise' },
  { description: 'ten decimals', network: 'testnet', address: TB_P2WSH, amount: '1.0000000001', reason: 'amount_too_precise' },
  { description: 'exponent notation 1e-3', network: 'testnet', address: TB_P2WSH, amount: '1e-3', reason: 'amount_exponent' },
  { description: 'exponent notation 1E2', network: 'testnet', address: TB_P2WSH, amount: '1E2', reason: 'amount_exponent' },
  { description: 'above supply by one sat', network: 'testnet', address: TB_P2WSH, amount: '21000000.00000001', reason: 'amount_above_supply' },
  { description: 'above supply', network: 'testnet', address: TB_P2WSH, amount: '99999999', reason: 'amount_above_supply' },
  { description: 'non-numeric', network: 'testnet', address: TB_P2WSH, amount: 'abc', reason: 'amount_not_a_number' },
  { description: 'comma decimal', network: 'testnet', address: TB_P2WSH, amount: '0,001', reason: 'amount_not_a_number' },
  { description: 'hex', network: 'testnet', address: TB_P2WSH, amount: '0x10', reason: 'amount_not_a_number' },
  { description: 'two dots', network: 'testnet', address: TB_P2WSH, amount: '1.2.3', reason: 'amount_not_a_number' },
  { description: 'space inside', network: 'testnet', address: TB_P2WSH, amount: '1 000', reason: 'amount_not_a_number' },
  { description: 'below dust P2PKH (545 sat)', network: 'testnet', address: addr.p2pkh('testnet'), amount: '0.00000545', reason: 'amount_below_dust' },
  { description: 'below dust P2SH (539 sat)', network: 'testnet', address: addr.p2sh('testnet'), amount: '0.00000539', reason: 'amount_below_dust' },
  { description: 'below dust P2WPKH (293 sat)', network: 'testnet', address: addr.p2wpkh('testnet'), amount: '0.00000293', reason: 'amount_below_dust' },
  { description: 'below dust P2WSH (329 sat)', network: 'testnet', address: TB_P2WSH, amount: '0.00000329', reason: 'amount_below_dust' },
  { description: 'below dust P2TR (329 sat)', network: 'testnet', address: TB_P2TR, amount: '0.00000329', reason: 'amount_below_dust' },
  { description: 'one satoshi to P2PKH', network: 'testnet', address: addr.p2pkh('testnet'), amount: '0.00000001', reason: 'amount_below_dust' },
];

const VALID = [
  { type: 'p2pkh', address: addr.p2pkh('testnet'), amount: '0.00000546', sat: 546n },
  { type: 'p2sh', address: addr.p2sh('testnet'), amount: '0.0000054', sat: 540n },
  { type: 'p2wpkh', address: addr.p2wpkh('testnet'), amount: '0.00000294', sat: 294n },
  { type: 'p2wsh', address: TB_P2WSH, amount: '0.0000033', sat: 330n },
  { type: 'p2tr', address: TB_P2TR, amount: '21000000', sat: 2_100_000_000_000_000n },
  { type: 'p2wsh upper case', address: TB_P2WSH.toUpperCase(), amount: '1.5', sat: 150_000_000n },
];

it('the table holds at least 60 bad requests', () => expect(BAD.length).toBeGreaterThanOrEqual(60));

const reasonOf = (e: unknown): string => (isCoded(e) ? String(e.context.reason ?? e.code) : `uncoded: ${String(e)}`);

describe.each([sqliteBackend(), mariadbBackend()])('intake on $name', (backend: Backend) => {
  afterAll(() => backend.cleanup());

  it('library door: every bad request is refused with its reason and nothing is stored', async () => {
    const url = await backend.fresh();
    const stores = Object.fromEntries((['mainnet', 'testnet', 'regtest'] as const).map((n) => [n, openWithdrawalStore(url, { network: n })]));
    try {
      const got: string[] = [];
      for (const [i, b] of BAD.entries()) {
        const e = await (async () => requestWithdrawal(stores[b.network]!, { appId: `bad-${i}`, user: 'u1', address: b.address, amountSat: parseBtc(b.amount) }))().then(() => undefined, (x: unknown) => x);
        got.push(`${b.description}: ${reasonOf(e)}`);
      }
      expect(got).toEqual(BAD.map((b) => `${b.description}: ${b.reason}`));
      expect(await backend.query(url, 'SELECT COUNT(*) AS n FROM withdrawals')).toEqual([{ n: backend.name === 'sqlite' ? 0n : '0' }]);
    } finally {
      for (const s of Object.values(stores)) await s.close();
    }
  });

  it('library door: valid requests of every address type are accepted; same app id + same content returns it, other content is refused', async () => {
    const url = await backend.fresh();
    const store = openWithdrawalStore(url, { network: 'testnet' });
    try {
      for (const v of VALID) {
        const r = await requestWithdrawal(store, { appId: `ok-${v.type}`, user: 'u1', address: v.address, amountSat: v.sat });
        expect(r.kind).toBe('created');
        expect(r.withdrawal.amountSat).toBe(v.sat);
        expect(r.withdrawal.status).toBe('requested');
        const again = await requestWithdrawal(store, { appId: `ok-${v.type}`, user: 'u1', address: v.address, amountSat: v.sat });
        expect(again).toMatchObject({ kind: 'existing', withdrawal: { id: r.withdrawal.id } });
      }
      const e = await requestWithdrawal(store, { appId: 'ok-p2tr', user: 'u1', address: TB_P2TR, amountSat: 1000n }).catch((x: unknown) => x);
      expect(isCoded(e, 'STATE_CONFLICT')).toBe(true);
      const e2 = await requestWithdrawal(store, { appId: 'ok-p2tr', user: 'u2', address: TB_P2TR, amountSat: 2_100_000_000_000_000n }).catch((x: unknown) => x);
      expect(isCoded(e2, 'STATE_CONFLICT')).toBe(true);
      const listed = await store.list({ status: 'requested', limit: 100 }, DEFAULT_POLICY);
      expect(listed.map((w) => w.outputType)).toEqual(['p2pkh', 'p2sh', 'p2wpkh', 'p2wsh', 'p2tr', 'p2wsh']);
    } finally {
      await store.close();
    }
  });

  it('raw SQL door: rows breaking a rule are marked invalid with their reason at the operator\'s first read, audited, and cannot be approved', async () => {
    const url = await backend.fresh();
    // what a SQL INSERT can carry: every address row, and the integer amounts (non-numeric text cannot reach a BIGINT)
    const rows = BAD.map((b, i) => ({ ...b, i, sat: (() => { try { return parseBtc(b.amount); } catch { return undefined; } })() })).filter((b) => b.sat !== undefined);
    expect(rows.length).toBeGreaterThan(45);
    const ok = VALID.map((v, i) => ({ ...v, i }));
    for (const network of ['mainnet', 'testnet', 'regtest'] as const) {
      for (const b of rows.filter((r) => r.network === network)) {
        await backend.exec(url, 'INSERT INTO withdrawals (app_id, user_id, destination, amount_sat) VALUES (?, ?, ?, ?)', [`raw-bad-${b.i}`, 'u1', b.address, String(b.sat)]);
      }
      if (network === 'testnet') {
        for (const v of ok) await backend.exec(url, 'INSERT INTO withdrawals (app_id, user_id, destination, amount_sat) VALUES (?, ?, ?, ?)', [`raw-ok-${v.i}`, 'u1', v.address, String(v.sat)]);
      }
      const store = openWithdrawalStore(url, { network });
      try {
        const seen = await store.observe('operator-1');
        expect(seen.invalid.map((x) => x.reason)).toEqual(rows.filter((r) => r.network === network).map((r) => r.reason));
        for (const x of seen.invalid) {
          const e = await store.approve(x.id, approver('operator-1', testTrust(network)), DEFAULT_POLICY).catch((err: unknown) => err);
          expect(isCoded(e, 'STATE_CONFLICT') && /is invalid/.test((e as Error).message)).toBe(true);
        }
        expect((await store.observe('operator-1')).seen).toBe(0); // only the first read marks
      } finally {
        await store.close();
      }
    }
    // amounts the database itself refuses (CHECK): nothing stored
    for (const sat of ['0', '-1000', '2100000000000001']) {
      await expect(backend.exec(url, 'INSERT INTO withdrawals (app_id, user_id, destination, amount_sat) VALUES (?, ?, ?, ?)', [`raw-check-${sat}`, 'u1', TB_P2WSH, sat])).rejects.toThrow();
    }
    const stored = await backend.query(url, "SELECT app_id, status, reason FROM withdrawals ORDER BY id");
    expect(stored.filter((r) => String(r.app_id).startsWith('raw-bad-')).every((r) => r.status === 'invalid' && String(r.reason).length > 0)).toBe(true);
    expect(stored.filter((r) => String(r.app_id).startsWith('raw-ok-')).map((r) => r.status)).toEqual(VALID.map(() => 'requested'));
    expect(stored.some((r) => String(r.app_id).startsWith('raw-check-'))).toBe(false);
    const audit = await backend.query(url, "SELECT action FROM audit_log WHERE action = 'withdrawal.invalid'");
    expect(audit.length).toBe(rows.length);
  });

  it('raw SQL door: a row inserted already "approved" is marked invalid, never paid', async () => {
    const url = await backend.fresh();
    await backend.exec(url, "INSERT INTO withdrawals (app_id, user_id, destination, amount_sat, status) VALUES ('sneaky', 'u1', ?, 100000, 'approved')", [TB_P2WSH]);
    const store = openWithdrawalStore(url, { network: 'testnet' });
    try {
      const seen = await store.observe('op');
      expect(seen.invalid.map((x) => x.reason)).toEqual(['arrived_decided']);
      expect((await store.list({ status: 'approved', limit: 10 }, DEFAULT_POLICY)).length).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe('CLI door (sqlite)', () => {
  const backend = sqliteBackend();
  afterAll(() => backend.cleanup());

  it('every bad request: exit 3 with its reason in the JSON error, nothing stored', async () => {
    const url = await backend.fresh();
    for (const [i, b] of BAD.entries()) {
      const r = await runOnline(['withdrawals', 'request', '--db', url, '--network', b.network, '--app-id', `cli-${i}`, '--user', 'u1', '--address', b.address, '--amount', b.amount, '--json']);
      expect({ d: b.description, code: r.code, reason: JSON.parse(r.stderr).error.context.reason }).toEqual({ d: b.description, code: 3, reason: b.reason });
      expect(r.stdout).toBe('');
    }
    expect(await backend.query(url, 'SELECT COUNT(*) AS n FROM withdrawals')).toEqual([{ n: 0n }]);
  });

  it('valid requests of every type (--amount and --amount-sat), idempotent retry exit 0, other content exit 4', async () => {
    const url = await backend.fresh();
    for (const v of VALID) {
      const r = await runOnline(['withdrawals', 'request', '--db', url, '--network', 'testnet', '--app-id', `cli-${v.type}`, '--user', 'u1', '--address', v.address, '--amount', v.amount, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ amount_sat: v.sat.toString(), status: 'requested', created: true });
      const again = await runOnline(['withdrawals', 'request', '--db', url, '--network', 'testnet', '--app-id', `cli-${v.type}`, '--user', 'u1', '--address', v.address, '--amount-sat', v.sat.toString(), '--json']);
      expect(JSON.parse(again.stdout)).toMatchObject({ created: false });
    }
    const clash = await runOnline(['withdrawals', 'request', '--db', url, '--network', 'testnet', '--app-id', 'cli-p2pkh', '--user', 'u1', '--address', TB_P2TR, '--amount-sat', '1000']);
    expect(clash.code).toBe(4);
    const both = await runOnline(['withdrawals', 'request', '--db', url, '--network', 'testnet', '--app-id', 'x', '--user', 'u1', '--address', TB_P2TR, '--amount-sat', '1000', '--amount', '1']);
    expect(both.code).toBe(2);
  });
});
