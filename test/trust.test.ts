import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { approvalContentFor, signApproval, type ApprovalContent } from '../src/core/approval.js';
import { keyIdOf, privateKeyFromSeed, publicKeyHex } from '../src/core/ed25519.js';
import { CodedError } from '../src/core/errors.js';
import { NETWORKS } from '../src/core/network.js';
import { checkApprovals, emptyTrust, parseTrust, parseTrustText, requiredApprovals, serializeTrust, withOperator, type Trust } from '../src/core/trust.js';

const keys = [1, 2, 3].map((n) => privateKeyFromSeed(Buffer.alloc(32, n)));
const [alice, bob, carol] = keys.map((k) => ({ key: k, publicKey: publicKeyHex(k), id: keyIdOf(k) }));

function trustObject(): Record<string, unknown> {
  return {
    format: 'coldpool-trust',
    version: 1,
    network: 'regtest',
    operators: [
      { name: 'alice', publicKey: alice!.publicKey, id: alice!.id },
      { name: 'bob', publicKey: bob!.publicKey, id: bob!.id },
      { name: 'carol', publicKey: carol!.publicKey, id: carol!.id },
    ],
    approvals: { required: 2, tiers: [{ aboveSat: '100000000', required: 3 }] },
    verifier: null,
  };
}

const trust: Trust = parseTrust(trustObject());
const content: ApprovalContent = approvalContentFor(NETWORKS.regtest, {
  id: 7n, appId: 'w-7', user: 'u1', destination: 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080', amountSat: 150000n, createdAt: '2025-01-01T00:00:00.000Z',
});
const by = (who: typeof alice, c: ApprovalContent = content) => ({ keyId: who!.id, signature: signApproval(c, who!.key) });

/** Deep-set `path` (dots and [n]) in a fresh trust object. */
function mutated(path: string, value: unknown): Record<string, unknown> {
  const t = trustObject();
  const parts = path.replace(/\[(\d+)\]/g, '.$1').split('.');
  let o: Record<string, unknown> = t;
  for (const p of parts.slice(0, -1)) o = o[p] as Record<string, unknown>;
  const last = parts[parts.length - 1]!;
  if (value === undefined) delete o[last];
  else o[last] = value;
  return t;
}

describe('trust file: parse', () => {
  it('accepts a well-formed file and writes it back canonically', () => {
    expect(trust.operators.map((o) => o.name)).toEqual(['alice', 'bob', 'carol']);
    expect(trust.approvals).toEqual({ required: 2, tiers: [{ aboveSat: 100000000n, required: 3 }] });
    const text = serializeTrust(trust);
    expect(parseTrustText(text)).toEqual(trust);
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual(trustObject());
  });

  it('accepts a verifier key of its own, and refuses an operator\'s key as the verifier\'s', () => {
    const verifier = publicKeyHex(privateKeyFromSeed(Buffer.alloc(32, 9)));
    const t = parseTrust(mutated('verifier', { publicKey: verifier }));
    expect(t.verifier).toEqual({ publicKey: verifier });
    expect(() => parseTrust(mutated('verifier', { publicKey: carol!.publicKey }))).toThrow(/"verifier\.publicKey" expected a key no operator or auditor has \(carol has this key\)/);
  });

  const refusals: [string, string, unknown, RegExp][] = [
    ['an unknown top-level key', 'operator', [], /"operator" is not a field of a trust file/],
    ['an unknown key in an operator', 'operators[1].email', 'b@x', /"operators\[1\]\.email" is not a field/],
    ['an unknown key in approvals (a misspelt tiers)', 'approvals.tier', [], /"approvals\.tier" is not a field/],
    ['an unknown key in a tier', 'approvals.tiers[0].belowSat', '1', /"approvals\.tiers\[0\]\.belowSat" is not a field/],
    ['an unknown key in the verifier', 'verifier', { publicKey: alice!.publicKey, url: 'x' }, /"verifier\.url" is not a field/],
    ['a missing key', 'approvals.tiers', undefined, /"approvals\.tiers" is missing/],
    ['another format', 'format', 'coldpool-keystore', /"format" expected "coldpool-trust"/],
    ['another version', 'version', 2, /"version" expected 1/],
    ['an unknown network', 'network', 'moon', /"network" expected one of/],
    ['a duplicate name', 'operators[2].name', 'alice', /"operators\[2\]\.name" expected a name not already used by operators\[0\]/],
    ['a duplicate key', 'operators[2]', { name: 'mallory', publicKey: alice!.publicKey, id: alice!.id }, /"operators\[2\]\.publicKey" expected a key not already listed as operators\[0\] \(alice\)/],
    ['an id that is not its key\'s', 'operators[0].id', bob!.id, /"operators\[0\]\.id" expected "[0-9a-f]{16}"/],
    ['a malformed key', 'operators[0].publicKey', 'ab', /"operators\[0\]\.publicKey" expected an Ed25519 public key/],
    ['a name with surrounding spaces', 'operators[0].name', ' alice', /"operators\[0\]\.name"/],
    ['required 0', 'approvals.required', 0, /"approvals\.required" expected an integer of at least 1/],
    ['required above the operators', 'approvals.required', 4, /"approvals\.required" is 4, but only 3 operators are listed/],
    ['required as a string', 'approvals.required', '2', /"approvals\.required" expected an integer/],
    ['a tier above the operators', 'approvals.tiers[0].required', 4, /"approvals\.tiers\[0\]\.required" is 4/],
    ['a tier that lowers the requirement', 'approvals.tiers[0].required', 1, /"approvals\.tiers\[0\]\.required" expected at least 2/],
    ['a tier amount as a number', 'approvals.tiers[0].aboveSat', 100000000, /"approvals\.tiers\[0\]\.aboveSat" expected satoshis as a decimal string/],
    ['tiers out of order', 'approvals.tiers', [{ aboveSat: '200', required: 2 }, { aboveSat: '100', required: 3 }], /"approvals\.tiers\[1\]\.aboveSat" expected more than the tier before it/],
    ['a verifier without a key', 'verifier', {}, /"verifier\.publicKey" is missing/],
  ];
  it.each(refusals)('refuses %s, naming its path', (_what, path, value, message) => {
    const error = (() => {
      try {
        parseTrust(mutated(path, value));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CodedError);
    expect((error as CodedError).code).toBe('INVALID_INPUT');
    expect((error as CodedError).message).toMatch(message);
  });

  it('refuses text that is not JSON, naming the source', () => {
    expect(() => parseTrustText('{', 'coldpool-trust.json')).toThrow(/coldpool-trust\.json is not JSON/);
    expect(() => parseTrustText('{}', 'coldpool-trust.json')).toThrow(/coldpool-trust\.json: "format" is missing/);
  });

  it('withOperator adds one operator, and refuses a name or a key already listed', () => {
    const one = withOperator(emptyTrust('regtest'), { name: 'alice', publicKey: alice!.publicKey });
    expect(one.operators).toEqual([{ name: 'alice', publicKey: alice!.publicKey, id: alice!.id }]);
    expect(() => withOperator(one, { name: 'alice', publicKey: bob!.publicKey })).toThrow(/operator name "alice" is already in the trust file/);
    expect(() => withOperator(one, { name: 'mallory', publicKey: alice!.publicKey })).toThrow(new RegExp(`key ${alice!.id} is already in the trust file as "alice"`));
    const two = withOperator(one, { name: 'bob', publicKey: bob!.publicKey });
    expect(parseTrustText(serializeTrust(two))).toEqual(two);
  });
});

describe('requiredApprovals: tiers', () => {
  it('the base requirement up to and including a tier\'s amount, the tier\'s above it', () => {
    expect(requiredApprovals(trust, 1n)).toBe(2);
    expect(requiredApprovals(trust, 100000000n)).toBe(2);
    expect(requiredApprovals(trust, 100000001n)).toBe(3);
  });

  it('the highest matching tier wins', () => {
    const t = parseTrust(mutated('approvals', { required: 1, tiers: [{ aboveSat: '1000', required: 2 }, { aboveSat: '5000', required: 3 }] }));
    expect([999n, 1000n, 1001n, 5000n, 5001n].map((a) => requiredApprovals(t, a))).toEqual([1, 1, 2, 2, 3]);
  });
});

describe('checkApprovals', () => {
  it('two distinct trusted operators over exactly this content cover 2-of-3', () => {
    const r = checkApprovals(trust, content, [by(alice), by(bob)]);
    expect(r.valid.map((o) => o.name)).toEqual(['alice', 'bob']);
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({ required: 2, covered: true });
  });

  it('two approvals with one key count once', () => {
    const r = checkApprovals(trust, content, [by(alice), by(alice)]);
    expect(r.valid.map((o) => o.name)).toEqual(['alice']);
    expect(r.problems).toEqual([{ index: 1, keyId: alice!.id, problem: 'duplicate key' }]);
    expect(r.covered).toBe(false);
  });

  it('an approval by a key not in the trust file counts for nothing', () => {
    const stranger = generateKeyPairSync('ed25519').privateKey;
    const r = checkApprovals(trust, content, [by(alice), { keyId: keyIdOf(stranger), signature: signApproval(content, stranger) }]);
    expect(r.problems).toEqual([{ index: 1, keyId: keyIdOf(stranger), problem: 'unknown key' }]);
    expect(r.covered).toBe(false);
  });

  it('a signature over other content, or one claiming another operator\'s id, is a bad signature', () => {
    const edited = { ...content, amountSat: content.amountSat + 1n };
    const r = checkApprovals(trust, content, [by(alice), by(bob, edited), { keyId: carol!.id, signature: by(alice).signature }, { keyId: bob!.id, signature: 'zz' }]);
    expect(r.valid.map((o) => o.name)).toEqual(['alice']);
    expect(r.problems.map((p) => [p.index, p.problem])).toEqual([[1, 'bad signature'], [2, 'bad signature'], [3, 'bad signature']]);
    expect(r.covered).toBe(false);
  });

  it('a bad approval beside a good one by the same key does not undo it', () => {
    const r = checkApprovals(trust, content, [{ keyId: alice!.id, signature: '00'.repeat(64) }, by(alice), by(bob)]);
    expect(r.valid.map((o) => o.name)).toEqual(['alice', 'bob']);
    expect(r.covered).toBe(true);
  });

  it('above a tier, two operators are not enough and three are', () => {
    const big = { ...content, amountSat: 200000000n };
    expect(checkApprovals(trust, big, [by(alice, big), by(bob, big)])).toMatchObject({ required: 3, covered: false });
    expect(checkApprovals(trust, big, [by(alice, big), by(bob, big), by(carol, big)])).toMatchObject({ required: 3, covered: true });
  });

  it('content for another network than the trust file\'s counts for nothing', () => {
    const testnet = { ...content, network: 'testnet' as const };
    const r = checkApprovals(trust, testnet, [by(alice, testnet), by(bob, testnet)]);
    expect(r.valid).toEqual([]);
    expect(r.problems.map((p) => p.problem)).toEqual(['wrong network', 'wrong network']);
    expect(r.covered).toBe(false);
  });

  it('no approvals: not covered', () => {
    expect(checkApprovals(trust, content, [])).toMatchObject({ valid: [], problems: [], covered: false });
  });
});
