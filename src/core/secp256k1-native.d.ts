// Minimal types for the parts of `secp256k1` (libsecp256k1 binding) we use.
declare module 'secp256k1/bindings.js' {
  const api: {
    publicKeyTweakAdd(publicKey: Uint8Array, tweak: Uint8Array, compressed?: boolean, output?: Uint8Array): Uint8Array;
  };
  export default api;
}
