/**
 * The payout state table (src/core/payout-state.ts): random sequences of
 * moves never leave it, never go back, and stop at a final status; and the
 * table names exactly the statuses the schema's CHECK allows.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canMovePayout, isLivePayout, isPayoutStatus, LIVE_PAYOUT_STATUSES, PAYOUT, PAYOUT_STATUSES, PAYOUT_TRANSITIONS, type PayoutStatus } from '../src/core/payout-state.js';

// abandoned before confirmed: an abandoned payout may still confirm (a signed copy broadcast by whoever held it)
const RANK: Record<PayoutStatus, number> = { built: 0, signed: 1, broadcast: 2, abandoned: 3, confirmed: 4 };

describe('payout state table', () => {
  it('random transition sequences from built stay in the table, only move forward and end in a final status', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...PAYOUT_STATUSES, 'gone', 'in_payout'), { maxLength: 30 }), (targets) => {
      let at: PayoutStatus = PAYOUT.built;
      const path: PayoutStatus[] = [at];
      for (const to of targets) {
        if (!isPayoutStatus(to)) {
          expect(PAYOUT_TRANSITIONS[at]).not.toContain(to);
          continue;
        }
        if (!canMovePayout(at, to)) continue;
        expect(RANK[to]).toBeGreaterThan(RANK[at]);
        expect(isLivePayout(at) || at === PAYOUT.abandoned).toBe(true);
        at = to;
        path.push(at);
      }
      expect(PAYOUT_STATUSES).toContain(at);
      expect(path.length).toBeLessThanOrEqual(5);
      if (!isLivePayout(at)) expect(PAYOUT_TRANSITIONS[at]).toEqual(at === PAYOUT.abandoned ? [PAYOUT.confirmed] : []);
    }), { numRuns: 500 });
  });

  it('every arrow leads to a status of the table; live are built, signed, broadcast; confirmed is final, abandoned can only still confirm', () => {
    for (const [from, tos] of Object.entries(PAYOUT_TRANSITIONS)) {
      expect(isPayoutStatus(from)).toBe(true);
      for (const to of tos) expect(isPayoutStatus(to)).toBe(true);
    }
    expect(LIVE_PAYOUT_STATUSES).toEqual(['built', 'signed', 'broadcast']);
    expect(PAYOUT_TRANSITIONS.confirmed).toEqual([]);
    expect(PAYOUT_TRANSITIONS.abandoned).toEqual(['confirmed']);
    for (const s of PAYOUT_STATUSES) expect(PAYOUT[s]).toBe(s);
  });

  it.each(['sqlite', 'mysql'])('the %s schema allows exactly the statuses of the table', (dialect) => {
    const sql = readFileSync(new URL(`../sql/${dialect}/001_init.sql`, import.meta.url), 'utf8');
    const table = /CREATE TABLE IF NOT EXISTS payouts \(([\s\S]*?)\n\)[^;]*;/.exec(sql)![1]!;
    const check = /status IN \(([^)]*)\)/.exec(table)![1]!;
    expect(check.split(',').map((s) => s.trim().replace(/'/g, ''))).toEqual([...PAYOUT_STATUSES]);
  });
});
