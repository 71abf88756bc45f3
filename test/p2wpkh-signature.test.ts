/**
 * src/core/p2wpkh-signature.ts, the one P2WPKH signature module (signer,
 * broadcast and demo chain all use it), against bitcoinjs-lib: its BIP143
 * hashes, its strict-DER parser, and what its verification accepts and refuses.
 */
import { script as bscript, Transaction } from 'bitcoinjs-lib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bip143AllHasher, derSignature, parseDerSignature, p2wpkhScriptCode, verifyP2wpkhSignature, verifyP2wpkhWitness } from '../src/core/p2wpkh-signature.js';
import { buildPayout, FIXTURE_MNEMONIC, keyAt, OTHER_MNEMONIC, rootOf } from './support/psbt-fixtures.js';

/** The standard fixture payout with three inputs, signed by bitcoinjs with the fixture seed's keys. */
function signedByBitcoinjs() {
  const { psbt } = buildPayout({ inputs: [200_000n, 150_000n, 90_000n] });
  const root = rootOf(FIXTURE_MNEMONIC);
  psbt.data.inputs.forEach((input, i) => psbt.signInput(i, root.derivePath(input.bip32Derivation![0]!.path)));
  const tx = Transaction.fromBuffer(Buffer.from(psbt.data.getTransaction()));
  const inputs = psbt.data.inputs.map((input) => ({ pubkey: input.partialSig![0]!.pubkey, signature: input.partialSig![0]!.signature, valueSat: input.witnessUtxo!.value, script: input.witnessUtxo!.script }));
  return { psbt, tx, inputs };
}

describe('p2wpkh-signature', () => {
  it('bip143AllHasher equals bitcoinjs hashForWitnessV0 for every input', () => {
    const { tx, inputs } = signedByBitcoinjs();
    const sighash = bip143AllHasher(tx);
    inputs.forEach((input, i) => {
      const code = p2wpkhScriptCode(input.pubkey);
      expect(sighash(i, code, input.valueSat).toString('hex')).toBe(Buffer.from(tx.hashForWitnessV0(i, code, input.valueSat, Transaction.SIGHASH_ALL)).toString('hex'));
    });
  });

  it('accepts every signature bitcoinjs makes, and the finalized witnesses', () => {
    const { psbt, tx, inputs } = signedByBitcoinjs();
    const sighash = bip143AllHasher(tx);
    inputs.forEach((input, i) => expect(verifyP2wpkhSignature(sighash, i, input.valueSat, input.pubkey, input.signature)).toBeUndefined());
    psbt.finalizeAllInputs();
    const final = psbt.extractTransaction();
    const finalHash = bip143AllHasher(final);
    final.ins.forEach((input, i) => expect(verifyP2wpkhWitness(finalHash, i, { script: inputs[i]!.script, valueSat: inputs[i]!.valueSat }, input.witness)).toBeUndefined());
  });

  it('refuses another input, another amount, another key, another sighash type, non-DER bytes and a witness of another key', () => {
    const { tx, inputs } = signedByBitcoinjs();
    const sighash = bip143AllHasher(tx);
    const [a, b] = inputs;
    expect(verifyP2wpkhSignature(sighash, 1, a!.valueSat, a!.pubkey, a!.signature)).toBe('the signature does not verify');
    expect(verifyP2wpkhSignature(sighash, 0, a!.valueSat + 1n, a!.pubkey, a!.signature)).toBe('the signature does not verify');
    expect(verifyP2wpkhSignature(sighash, 0, a!.valueSat, b!.pubkey, a!.signature)).toBe('the signature does not verify');
    const none = Buffer.from(a!.signature);
    none[none.length - 1] = Transaction.SIGHASH_NONE;
    expect(verifyP2wpkhSignature(sighash, 0, a!.valueSat, a!.pubkey, none)).toMatch(/sighash 2, only ALL/);
    expect(verifyP2wpkhSignature(sighash, 0, a!.valueSat, a!.pubkey, Buffer.from(a!.signature).subarray(1))).toMatch(/not strict DER/);
    // a transaction changed after signing: one more satoshi to the first output
    const changed = tx.clone();
    changed.outs[0]!.value += 1n;
    expect(verifyP2wpkhSignature(bip143AllHasher(changed), 0, a!.valueSat, a!.pubkey, a!.signature)).toBe('the signature does not verify');
    const foreign = keyAt(0, 0, { mnemonic: OTHER_MNEMONIC });
    expect(verifyP2wpkhWitness(sighash, 0, { script: a!.script, valueSat: a!.valueSat }, [a!.signature, foreign.pubkey])).toMatch(/does not hash to the output's program/);
    expect(verifyP2wpkhWitness(sighash, 0, { script: a!.script, valueSat: a!.valueSat }, [a!.signature])).toMatch(/not \[signature, pubkey\]/);
  });

  it('parseDerSignature accepts exactly the signatures bitcoinjs decodes (BIP66), with the same (r, s)', () => {
    const { inputs } = signedByBitcoinjs();
    const base = [...inputs.map((i) => Buffer.from(i.signature)), derSignature(Buffer.alloc(64, 0x7f), 1), derSignature(Buffer.concat([Buffer.alloc(31), Buffer.from([1]), Buffer.alloc(32, 0xff)]), 1)];
    const mutated = fc.tuple(fc.constantFrom(...base), fc.array(fc.tuple(fc.nat(80), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), fc.option(fc.nat(80))).map(([sig, edits, cut]) => {
      const s = Buffer.from(sig);
      for (const [at, v] of edits) if (at < s.length - 1) s[at] = v; // the sighash byte stays ALL
      return cut === null || cut >= s.length - 1 ? s : Buffer.concat([s.subarray(0, cut), s.subarray(s.length - 1)]);
    });
    fc.assert(fc.property(mutated, (sig) => {
      let theirs: { signature: Uint8Array } | undefined;
      try {
        theirs = bscript.signature.decode(sig);
      } catch {
        theirs = undefined;
      }
      const ours = parseDerSignature(sig);
      expect(ours === undefined).toBe(theirs === undefined);
      if (ours && theirs) expect(Buffer.from(ours.compact).toString('hex')).toBe(Buffer.from(theirs.signature).toString('hex'));
    }), { numRuns: 2000 });
  });
});
