import { createRequire } from 'node:module';

/**
 * Where the two secp256k1 implementations come from, in one module so the
 * air-gapped bundle (offline/build.mjs) can swap it for
 * offline/shims/secp256k1-libraries.ts: a bundle has no node_modules to
 * `require` from, and a native addon cannot be bundled at all.
 *
 * Both are loaded lazily, on first call: compiling tiny-secp256k1's wasm
 * costs every derivation worker ~50 ms, so it is loaded only when the native
 * binding does not load (src/core/ec-add.ts, src/keys/sign.ts).
 */

/** The parts of the `secp256k1` binding (libsecp256k1, prebuilt native addon) that coldpool calls. */
export interface NativeSecp256k1 {
  publicKeyTweakAdd(point: Uint8Array, tweak: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyConvert(point: Uint8Array, compressed: boolean): Uint8Array;
  signatureNormalize(signature: Uint8Array): Uint8Array;
  ecdsaVerify(signature: Uint8Array, msg: Uint8Array, publicKey: Uint8Array): boolean;
  ecdsaSign(msg: Uint8Array, key: Uint8Array, opts: { data?: Uint8Array }): { signature: Uint8Array };
  privateKeyTweakAdd(key: Uint8Array, tweak: Uint8Array): Uint8Array;
}

export type TinySecp256k1 = typeof import('tiny-secp256k1');

const require = createRequire(import.meta.url);

/** libsecp256k1's native binding; throws where no prebuilt addon fits this platform. */
export function loadNativeSecp256k1(): NativeSecp256k1 {
  return require('secp256k1/bindings') as NativeSecp256k1;
}

/** tiny-secp256k1: libsecp256k1 compiled to WebAssembly, the same results everywhere. */
export function loadTinySecp256k1(): TinySecp256k1 {
  return require('tiny-secp256k1') as TinySecp256k1;
}
