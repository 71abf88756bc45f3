import { describe, expect, it } from 'vitest';
import { forecast, levelOf, nextDeriveCommand } from '../src/core/low-water.js';
import type { WatcherState } from '../src/core/ports.js';
import { decide, poolAlert, type WatchPolicy } from '../src/flows/watch.js';

const H = 3_600_000;
const T0 = new Date('2026-11-29T12:00:00.000Z');
const at = (hours: number) => new Date(T0.getTime() + hours * H);
const policy: WatchPolicy = { threshold: 1000, warning: 2000, repeatMs: 24 * H };
const state = (level: WatcherState['level'], lastAlertHours: number | undefined): WatcherState => ({
  level, lastAlertAt: lastAlertHours === undefined ? undefined : at(lastAlertHours), lastCount: 0, checkedAt: at(0), revision: 1,
});

describe('decide: the low-water policy as a pure function of (count, previous state, now)', () => {
  it.each([
    { description: 'first check, plenty left', count: 5000, prev: undefined, hours: 0, send: undefined, level: 'ok' },
    { description: 'first check, already low: alert', count: 900, prev: undefined, hours: 0, send: { kind: 'low', level: 'critical' }, level: 'critical' },
    { description: 'exactly at the threshold is not low', count: 1000, prev: state('ok', undefined), hours: 0, send: { kind: 'low', level: 'warning' }, level: 'warning' },
    { description: 'crosses below the warning level', count: 1999, prev: state('ok', undefined), hours: 0, send: { kind: 'low', level: 'warning' }, level: 'warning' },
    { description: 'warning → critical escalates at once, even within the interval', count: 999, prev: state('warning', -1), hours: 0, send: { kind: 'low', level: 'critical' }, level: 'critical' },
    { description: 'still critical within the interval: silent', count: 950, prev: state('critical', -23.9), hours: 0, send: undefined, level: 'critical' },
    { description: 'still critical after the interval: repeat', count: 950, prev: state('critical', -24), hours: 0, send: { kind: 'repeat', level: 'critical' }, level: 'critical' },
    { description: 'critical → warning (a small batch): silent, no recovery yet', count: 1500, prev: state('critical', -1), hours: 0, send: undefined, level: 'warning' },
    { description: 'back above every level: recovered', count: 11000, prev: state('critical', -1), hours: 0, send: { kind: 'recovered', level: 'ok' }, level: 'ok' },
    { description: 'ok stays ok: silent', count: 11000, prev: state('ok', undefined), hours: 0, send: undefined, level: 'ok' },
  ])('$description', ({ count, prev, hours, send, level }) => {
    const d = decide(count, prev, at(hours), policy);
    expect(d.send).toEqual(send);
    expect(d.next.level).toBe(level);
    expect(d.next.lastCount).toBe(count);
  });

  it('keeps the repeat clock when silent and restarts it when sending', () => {
    const silent = decide(950, state('critical', -2), at(0), policy);
    expect(silent.next.lastAlertAt).toEqual(at(-2));
    const repeat = decide(950, state('critical', -30), at(0), policy);
    expect(repeat.next.lastAlertAt).toEqual(at(0));
    expect(decide(5000, state('critical', -2), at(0), policy).next.lastAlertAt).toBeUndefined();
  });

  it('a day of ticks every 5 minutes while low sends one alert, then one repeat per interval', () => {
    let prev: WatcherState | undefined;
    const sent: string[] = [];
    for (let m = 0; m <= 49 * 60; m += 5) {
      const d = decide(800, prev, new Date(T0.getTime() + m * 60_000), policy);
      if (d.send) sent.push(`${d.send.kind}@${m / 60}h`);
      prev = { ...d.next, revision: (prev?.revision ?? 0) + 1 };
    }
    expect(sent).toEqual(['low@0h', 'repeat@24h', 'repeat@48h']);
  });
});

describe('forecast and the next command', () => {
  it('rate over 7 days, days left at that rate', () => {
    const f = forecast(700, { claimedSince: 700, firstLoadedAt: at(-24 * 30), nextIndex: 20000 }, T0);
    expect(f.claimsPerDay).toBe(100);
    expect(f.daysLeft).toBe(7);
  });

  it('a pool younger than 7 days is measured over its age', () => {
    const f = forecast(1000, { claimedSince: 500, firstLoadedAt: at(-24), nextIndex: 10000 }, T0);
    expect(f.claimsPerDay).toBe(500);
    expect(f.daysLeft).toBe(2);
  });

  it('no claims: days left unknown', () => {
    expect(forecast(10, { claimedSince: 0, firstLoadedAt: at(-100), nextIndex: 10 }, T0).daysLeft).toBeUndefined();
  });

  it('levels', () => {
    expect([0, 999, 1000, 1999, 2000].map((n) => levelOf(n, { threshold: 1000, warning: 2000 }))).toEqual(['critical', 'critical', 'warning', 'warning', 'ok']);
    expect(levelOf(1000, { threshold: 1000, warning: undefined })).toBe('ok');
  });

  it('the exact derive command, quoted for the shell when the path needs it', () => {
    expect(nextDeriveCommand(20000, { keystore: '/media/usb/cold.keystore', count: 10000 }))
      .toBe('coldpool-offline derive --keystore /media/usb/cold.keystore --from 20000 --count 10000 --out batch-020000.csv');
    expect(nextDeriveCommand(0, { keystore: "/media/my usb/o'k.keystore", count: 5000 }))
      .toBe("coldpool-offline derive --keystore '/media/my usb/o'\\''k.keystore' --from 0 --count 5000 --out batch-000000.csv");
  });

  it('an alert carries count, threshold, days left and the command', () => {
    const f = forecast(812, { claimedSince: 700, firstLoadedAt: at(-1000), nextIndex: 30000 }, T0);
    const a = poolAlert('low', 'critical', { pool: 'sqlite:/x.db', forecast: f, thresholds: policy, derive: { keystore: 'cold.keystore', count: 10000 } }, T0);
    expect(a.title).toBe('coldpool CRITICAL: 812 receive addresses left, below 1000');
    expect(a.text).toContain('available:    812');
    expect(a.text).toContain('threshold:    1000 (warning below 2000)');
    expect(a.text).toContain('days left:    8.1 days');
    expect(a.text).toContain('  coldpool-offline derive --keystore cold.keystore --from 30000 --count 10000 --out batch-030000.csv\n');
    expect(a.facts).toMatchObject({ available: 812, threshold: 1000, crossed: 1000, claims_per_day: 100, days_left: 8.1, next_index: 30000 });
  });
});
