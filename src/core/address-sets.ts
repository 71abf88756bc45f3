/**
 * The rules of a user's own set of deposit addresses (schema 009,
 * `coldpool pool assign`), shared by both stores, the flow and the CLI. No I/O.
 */

/** Default size of a user's set (`pool assign` without --count). */
export const DEFAULT_SET_SIZE = 100;
/** Largest set (or addition to one): one batch file's worth, so one signup cannot drain a fresh pool. */
export const MAX_SET_SIZE = 10_000;

/**
 * A set is topped up when fewer than a tenth of its size (at least 1) are
 * left unhanded: 100 → below 10. Early enough that a user who claims in a
 * burst keeps getting set addresses, late enough that top-ups are rare.
 */
export function lowWater(size: number): number {
  return Math.max(1, Math.ceil(size / 10));
}

/** How many addresses to add to a set of `size` with `remaining` unhanded: back up to `size`, or 0 when not low. */
export function topUpCount(size: number, remaining: number): number {
  return remaining < lowWater(size) ? size - remaining : 0;
}

