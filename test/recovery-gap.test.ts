import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HANDOUT_SLOTS, recoveryAdvice } from '../src/core/recovery-gap.js';

/**
 * The advice a restoring operator gets, and the property it rests on: claims
 * taken slot by slot (`idx % 64`, each slot in index order, any interleaving)
 * never leave more than 63 consecutive never-handed-out indexes below the
 * highest handed-out one.
 */
describe('recoveryAdvice', () => {
  it.each([
    { description: 'nothing handed out', input: [undefined, undefined], expected: { gapLimit: 20, coreRangeEnd: 999 } },
    { description: 'handed out, none funded', input: [499, undefined], expected: { gapLimit: 520, coreRangeEnd: 1499 } },
    { description: 'tail of unpaid claims', input: [4999, 4100], expected: { gapLimit: 919, coreRangeEnd: 5999 } },
    { description: 'short tail: the slot interleave still counts', input: [100, 95], expected: { gapLimit: 84, coreRangeEnd: 1100 } },
    // Sets of 100: a user's unhanded tail is a run of up to 100 nobody was given.
    { description: 'users\' sets widen the floor to the largest set', input: [300, 295, 100], expected: { gapLimit: 120, coreRangeEnd: 1300 } },
    { description: 'sets smaller than the slots change nothing', input: [100, 95, 20], expected: { gapLimit: 84 } },
  ])('$description', ({ input, expected }) => {
    const advice = recoveryAdvice(input[0], input[1], input[2]);
    expect(advice).toMatchObject(expected);
    expect(advice.advice.length).toBeGreaterThan(40);
  });

  it('slot-ordered hand-out leaves at most 63 unassigned indexes in a row below the highest', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: HANDOUT_SLOTS - 1 }), { minLength: 1, maxLength: 3000 }), (slots) => {
      const taken = new Array<number>(HANDOUT_SLOTS).fill(0);
      const assigned = new Set<number>();
      for (const s of slots) assigned.add(taken[s]!++ * HANDOUT_SLOTS + s);
      const highest = Math.max(...assigned);
      let run = 0;
      for (let i = 0; i < highest; i++) {
        run = assigned.has(i) ? 0 : run + 1;
        if (run >= HANDOUT_SLOTS) return false;
      }
      return true;
    }), { numRuns: 200 });
  });
});
