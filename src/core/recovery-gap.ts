/**
 * What an operator restoring the cold account needs to know so no deposit
 * stays invisible: wallets stop scanning after `gap limit` unused addresses
 * in a row (Electrum and Sparrow default 20; Bitcoin Core imports a fixed
 * descriptor range). Handed-out addresses nobody paid yet widen that gap.
 */
export interface RecoveryAdvice {
  /** Electrum / Sparrow gap limit that reaches every handed-out address past the last funded one. */
  readonly gapLimit: number;
  /** Bitcoin Core `importdescriptors` range end (inclusive) covering every handed-out index with room. */
  readonly coreRangeEnd: number;
  /** One sentence for the operator. */
  readonly advice: string;
}

/** Wallet default gap limit (BIP44, Electrum, Sparrow). */
export const DEFAULT_GAP_LIMIT = 20;
/** Room left past the highest handed-out index for the Core range. */
export const CORE_RANGE_MARGIN = 1000;
/**
 * The pool hands out receive addresses over 64 slots (`idx % 64`), each in
 * index order, so below any handed-out index at most 63 addresses in a row
 * were never handed out: a gap limit under that could stop a restore early.
 */
export const HANDOUT_SLOTS = 64;

/**
 * @example
 * recoveryAdvice(4999, 4100) // { gapLimit: 919, coreRangeEnd: 5999, advice: '…' }
 * recoveryAdvice(100, 90)     // { gapLimit: 84, … }: never below 64 + 20
 * recoveryAdvice(100, 90, 100) // { gapLimit: 120, … }: with sets of 100, never below 100 + 20
 */
export function recoveryAdvice(highestAssigned: number | undefined, highestUsed: number | undefined, largestSet = 0): RecoveryAdvice {
  if (highestAssigned === undefined) {
    return {
      gapLimit: DEFAULT_GAP_LIMIT,
      coreRangeEnd: CORE_RANGE_MARGIN - 1,
      advice: 'No address handed out yet: a wallet restored with the default gap limit of 20 sees everything.',
    };
  }
  // A user's set (schema 009) is a run of indexes handed out to that user one
  // by one, lowest first: its unhanded tail (up to the set's size) is a run
  // nobody was ever given, so the floor is the largest set when it exceeds the slots.
  const gapLimit = Math.max(HANDOUT_SLOTS, largestSet, highestAssigned - (highestUsed ?? -1)) + DEFAULT_GAP_LIMIT;
  const coreRangeEnd = highestAssigned + CORE_RANGE_MARGIN;
  const funded = highestUsed === undefined ? 'none funded yet' : `the highest funded is ${highestUsed}`;
  return {
    gapLimit,
    coreRangeEnd,
    advice:
      `Receive addresses up to index ${highestAssigned} were handed out (${funded}): when restoring this account, ` +
      `set the gap limit to at least ${gapLimit} in Electrum or Sparrow, or import the descriptor with "range": [0, ${coreRangeEnd}] in Bitcoin Core, ` +
      'and raise it further if many handed-out addresses below the highest funded one were never paid.',
  };
}
