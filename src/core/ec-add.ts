import { loadNativeSecp256k1, loadTinySecp256k1 } from './secp256k1-libraries.js';

/**
 * `P + t·G` on secp256k1, the one elliptic-curve operation public BIP32
 * derivation needs, and the hot path of deriving and verifying batches; and
 * ECDSA verification, for the signature checks of src/core/p2wpkh-signature.ts.
 *
 * libsecp256k1 through the `secp256k1` native binding (prebuilt addon) runs it
 * about three times faster than tiny-secp256k1's WebAssembly build (see
 * bench/README.md), so we use the binding when it loads and fall back to
 * tiny-secp256k1 (the same library compiled to wasm, same results) when it
 * does not. tiny-secp256k1 is loaded only in that case: compiling its wasm
 * costs every derivation worker ~50 ms of start-up.
 * Both come from ./secp256k1-libraries.ts; the offline bundle has only the wasm.
 *
 * Parents are kept uncompressed (65 bytes): libsecp256k1 then skips a square
 * root per call when it parses the point.
 */
type TweakAdd = (point: Uint8Array, tweak: Uint8Array) => Uint8Array | null;
type Convert = (point: Uint8Array, compressed: boolean) => Uint8Array;
/** Compact 64-byte (r, s), any S (high S is normalized first, as consensus accepts it), 32-byte message, 33/65-byte key. */
type Verify = (signature: Uint8Array, msg: Uint8Array, publicKey: Uint8Array) => boolean;

interface Backend {
  readonly name: 'libsecp256k1-native' | 'tiny-secp256k1-wasm';
  readonly tweakAdd: TweakAdd;
  readonly convert: Convert;
  readonly verify: Verify;
}

function loadBackend(): Backend {
  try {
    const native = loadNativeSecp256k1();
    return {
      name: 'libsecp256k1-native',
      tweakAdd: (point, tweak) => {
        try {
          return native.publicKeyTweakAdd(point, tweak, true);
        } catch {
          return null; // tweak >= n or result at infinity: BIP32 calls the index invalid
        }
      },
      convert: (point, compressed) => native.publicKeyConvert(point, compressed),
      verify: (signature, msg, publicKey) => {
        try {
          // libsecp256k1 verifies low-S signatures only; normalize a copy (it works in place)
          return native.ecdsaVerify(native.signatureNormalize(Uint8Array.from(signature)), msg, publicKey);
        } catch {
          return false; // r or s out of range, or not a point
        }
      },
    };
  } catch {
    const tiny = loadTinySecp256k1();
    return {
      name: 'tiny-secp256k1-wasm',
      tweakAdd: (point, tweak) => tiny.pointAddScalar(point, tweak, true),
      convert: (point, compressed) => tiny.pointCompress(point, compressed),
      verify: (signature, msg, publicKey) => {
        try {
          return tiny.verify(msg, publicKey, signature, false); // not strict: high S accepted
        } catch {
          return false;
        }
      },
    };
  }
}

const backend = loadBackend();

/** Which implementation is in use, for benchmarks and diagnostics. */
export const ecBackend = backend.name;

/** Compressed `point + tweak·G`, or null when BIP32 says the child is invalid. `point` may be compressed or not. */
export const pointAddScalar: TweakAdd = backend.tweakAdd;

/** The 65-byte uncompressed form of a valid point, the fastest input for pointAddScalar. */
export function uncompressed(point: Uint8Array): Uint8Array {
  return backend.convert(point, false);
}

/**
 * ECDSA verification of a compact (r, s) signature over a 32-byte message;
 * false for any malformed input. High S is accepted (consensus does; Core's
 * relay policy does not, and tells so in testmempoolaccept).
 */
export const ecdsaVerify: Verify = backend.verify;
