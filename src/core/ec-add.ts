import { createRequire } from 'node:module';
import * as tiny from 'tiny-secp256k1';

/**
 * `P + t·G` on secp256k1, the one elliptic-curve operation public BIP32
 * derivation needs. It is the hot path of deriving and verifying batches:
 * libsecp256k1 through the `secp256k1` native binding runs it about 5 times
 * faster than tiny-secp256k1's WebAssembly build (measured in bench/), so we
 * use the binding when its prebuilt addon loads and fall back to
 * tiny-secp256k1 (same library, same results) when it does not.
 */
type TweakAdd = (point: Uint8Array, tweak: Uint8Array) => Uint8Array | null;

function loadNative(): TweakAdd | undefined {
  try {
    const require = createRequire(import.meta.url);
    const native = require('secp256k1/bindings') as {
      publicKeyTweakAdd(p: Uint8Array, t: Uint8Array, compressed: boolean): Uint8Array;
    };
    return (point, tweak) => {
      try {
        return native.publicKeyTweakAdd(point, tweak, true);
      } catch {
        return null; // tweak >= n or result at infinity: BIP32 calls the index invalid
      }
    };
  } catch {
    return undefined;
  }
}

const native = loadNative();

/** Which implementation is in use, for benchmarks and `--version` output. */
export const ecBackend: 'libsecp256k1-native' | 'tiny-secp256k1-wasm' = native ? 'libsecp256k1-native' : 'tiny-secp256k1-wasm';

/** Compressed `point + tweak·G`, or null when BIP32 says the child is invalid. */
export const pointAddScalar: TweakAdd = native ?? ((point, tweak) => tiny.pointAddScalar(point, tweak, true));
