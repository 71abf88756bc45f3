/**
 * BIP32 index bounds. In their own module so the derivation worker can check
 * ranges without loading the descriptor parser (and base58 with it) into
 * every thread it starts.
 */

/** A hardened BIP32 index has this bit set. */
export const HARDENED = 0x80000000;
/** The last non-hardened child index (2^31 - 1): public derivation, batch files and the pool never go past it. */
export const MAX_INDEX = 0x7fffffff;
