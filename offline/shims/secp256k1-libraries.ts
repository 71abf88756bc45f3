/**
 * The offline bundle's src/core/secp256k1-libraries.ts (offline/build.mjs
 * puts this module in its place). A bundle has no node_modules: the native
 * libsecp256k1 addon cannot travel inside it, so the bundle never tries it
 * and always computes with tiny-secp256k1, the same libsecp256k1 compiled to
 * WebAssembly, whose wasm bytes are embedded in the bundle. Derivation and
 * RFC6979 signing are deterministic, so both give byte-identical results
 * (test/offline-bundle.test.ts compares them).
 */
import * as tiny from 'tiny-secp256k1';
import type { NativeSecp256k1, TinySecp256k1 } from '../../src/core/secp256k1-libraries.js';

export type { NativeSecp256k1, TinySecp256k1 };

export function loadNativeSecp256k1(): NativeSecp256k1 {
  // ec-add.ts and keys/sign.ts catch this and fall back to loadTinySecp256k1.
  throw new Error('the offline bundle carries no native addon; it uses tiny-secp256k1 (wasm, embedded)');
}

export function loadTinySecp256k1(): TinySecp256k1 {
  return tiny;
}
