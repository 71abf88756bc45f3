/**
 * Flow 5, the low-water watcher. `decide` is the whole policy as a pure
 * function of (count, previous state, now); `Watcher.tick` is one check with
 * its I/O through ports: read the pool, decide, record the decision in the
 * database (compare-and-set, so a restarted or second watcher never re-sends),
 * then deliver on every channel. A channel that fails is logged and retried on
 * the next ticks; a database or channel that keeps failing is reported on the
 * channels that still work.
 */
import { CodedError } from '../core/errors.js';
import {
  forecast, formatDaysLeft, formatRate, formatWindow, levelOf, nextDeriveCommand, nextLoadCommand, rateWindowStart, round1, thresholdOf,
  type DeriveAdvice, type Forecast, type Thresholds,
} from '../core/low-water.js';
import type { Alert, AlertKind, AlertLevel, Clock, Notifier, PoolStore, WatcherState, WatcherStateStore } from '../core/ports.js';

/** The subject row of the receive pool in watcher_state. */
export const POOL_SUBJECT = 'pool';
/** Consecutive failed checks (or deliveries on one channel) before the other channels are told. */
export const DEFAULT_FAILURES_BEFORE_ALERT = 3;
/** A failed delivery is retried on this many further ticks, then dropped (logged). */
export const DEFAULT_MAX_DELIVERY_ATTEMPTS = 12;

export interface WatchPolicy extends Thresholds {
  /** A low alert is repeated at most once per this many milliseconds while the level stays low. */
  readonly repeatMs: number;
}

export interface Decision {
  readonly next: Omit<WatcherState, 'revision'>;
  /** What to send, if anything. */
  readonly send: { readonly kind: 'low' | 'repeat' | 'recovered'; readonly level: AlertLevel } | undefined;
}

const rank: Record<AlertLevel, number> = { ok: 0, warning: 1, critical: 2 };

/**
 * The policy, pure:
 * - first check, or level got worse (ok → warning → critical): `low`;
 * - level still low and `repeatMs` passed since the last alert: `repeat`;
 * - level better but still low (a batch lifted critical to warning): nothing
 *   new, the repeat clock keeps running at the new level;
 * - back to ok after an alert: `recovered`, once.
 *
 * @example decide(812, undefined, now, { threshold: 1000, warning: undefined, repeatMs: 86400000 }).send // { kind: 'low', level: 'critical' }
 */
export function decide(count: number, prev: WatcherState | undefined, now: Date, policy: WatchPolicy): Decision {
  const level = levelOf(count, policy);
  const base = { level, lastCount: count, checkedAt: now };
  const prevLevel = prev?.level ?? 'ok';
  if (level === 'ok') {
    return { next: { ...base, lastAlertAt: undefined }, send: prevLevel !== 'ok' ? { kind: 'recovered', level } : undefined };
  }
  if (rank[level] > rank[prevLevel]) return { next: { ...base, lastAlertAt: now }, send: { kind: 'low', level } };
  const last = prev?.lastAlertAt;
  if (last === undefined || now.getTime() - last.getTime() >= policy.repeatMs) {
    return { next: { ...base, lastAlertAt: now }, send: { kind: 'repeat', level } };
  }
  return { next: { ...base, lastAlertAt: last }, send: undefined };
}

/**
 * One read of how low the pool is: the available count, then the claim rate
 * over the window (`pool check`, and each watcher tick).
 */
export async function poolForecast(pool: Pick<PoolStore, 'countAvailable'>, state: Pick<WatcherStateStore, 'gauge'>, now: Date): Promise<Forecast> {
  const available = await pool.countAvailable();
  const gauge = await state.gauge(rateWindowStart(now));
  return forecast(available, gauge, now);
}

/** What every low / repeat / recovered alert says. */
export interface PoolFacts {
  readonly pool: string;
  readonly forecast: Forecast;
  readonly thresholds: Thresholds;
  readonly derive: DeriveAdvice;
}

/** Build the message: count, threshold, rate, days left and the exact next command, on every channel alike. */
export function poolAlert(kind: 'low' | 'repeat' | 'recovered', level: AlertLevel, facts: PoolFacts, at: Date): Alert {
  const f = facts.forecast;
  const threshold = thresholdOf(level, facts.thresholds);
  const command = nextDeriveCommand(f.nextIndex, facts.derive);
  const title =
    kind === 'recovered'
      ? `coldpool: address pool recovered: ${f.available} available (threshold ${facts.thresholds.threshold})`
      : `coldpool ${level.toUpperCase()}: ${f.available} receive addresses left, below ${threshold}${kind === 'repeat' ? ' (still)' : ''}`;
  const lines = [
    title,
    '',
    `pool:         ${facts.pool}`,
    `available:    ${f.available}`,
    `threshold:    ${facts.thresholds.threshold}${facts.thresholds.warning !== undefined ? ` (warning below ${facts.thresholds.warning})` : ''}`,
    `claims/day:   ${formatRate(f.claimsPerDay)} (${formatWindow(f.windowDays)})`,
    `days left:    ${formatDaysLeft(f.daysLeft)}`,
    '',
    kind === 'recovered' ? 'When it runs low again, the next batch is, on the signer:' : 'Derive the next batch on the signer:',
    `  ${command}`,
    'then load it on the web host:',
    `  ${nextLoadCommand(f.nextIndex)}`,
  ];
  return {
    kind,
    level,
    title,
    text: lines.join('\n'),
    at,
    facts: {
      pool: facts.pool,
      available: f.available,
      threshold: facts.thresholds.threshold,
      warning: facts.thresholds.warning,
      crossed: kind === 'recovered' ? undefined : threshold,
      claims_per_day: round1(f.claimsPerDay),
      days_left: round1(f.daysLeft),
      next_index: f.nextIndex,
      next_command: command,
    },
  };
}

/** The watcher's own trouble: a database or channel that keeps failing. */
export function troubleAlert(kind: 'watcher-unavailable' | 'watcher-recovered', component: string, detail: string, failures: number, at: Date): Alert {
  const title =
    kind === 'watcher-unavailable'
      ? `coldpool watcher cannot reach the ${component} (${failures} failures in a row)`
      : `coldpool watcher reaches the ${component} again`;
  const text =
    kind === 'watcher-unavailable'
      ? `${title}\n\nlast error: ${detail}\n\nThe watcher keeps retrying; while this lasts it cannot tell you when the address pool runs low.`
      : `${title}\n\nAlerts through it work again.`;
  return { kind, level: kind === 'watcher-unavailable' ? 'critical' : 'ok', title, text, at, facts: { component, failures, error: kind === 'watcher-unavailable' ? detail : undefined } };
}

/** One JSON line per event on stdout (the `log` notifier also prints alerts). */
export type EventLog = (event: Record<string, unknown>) => void;

export interface WatcherDeps {
  /** The pool's available count (PoolStore.countAvailable) and its label for messages. */
  readonly pool: { readonly label: string; countAvailable(): Promise<number> };
  readonly state: WatcherStateStore;
  readonly notifiers: readonly Notifier[];
  readonly clock: Clock;
  readonly policy: WatchPolicy;
  readonly derive: DeriveAdvice;
  readonly log: EventLog;
  readonly failuresBeforeAlert?: number;
  readonly maxDeliveryAttempts?: number;
}

/** What one tick did (tests and the log). */
export interface TickReport {
  readonly ok: boolean;
  readonly available?: number;
  readonly level?: AlertLevel;
  readonly sent?: AlertKind;
  /** Channels the new alert reached on this tick. */
  readonly delivered: readonly string[];
  readonly failed: readonly string[];
  readonly error?: string;
}

interface Pending {
  readonly alert: Alert;
  readonly notifier: Notifier;
  attempts: number;
}

interface Trouble {
  failures: number;
  reported: boolean;
  lastError: string;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The long-running part, without the scheduler: call `tick()` on each cron
 * firing (never two at once; `coldpool watch` uses node-cron's noOverlap).
 */
export class Watcher {
  private readonly pending: Pending[] = [];
  private readonly trouble = new Map<string, Trouble>();
  private readonly failuresBeforeAlert: number;
  private readonly maxAttempts: number;
  private running: Promise<TickReport> | undefined;

  constructor(private readonly deps: WatcherDeps) {
    this.failuresBeforeAlert = deps.failuresBeforeAlert ?? DEFAULT_FAILURES_BEFORE_ALERT;
    this.maxAttempts = deps.maxDeliveryAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS;
  }

  /** One check; concurrent calls share the check in progress. Never throws. */
  tick(): Promise<TickReport> {
    this.running ??= this.check().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Resolves when the check in progress (if any) is done: graceful shutdown. */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /** Deliveries still waiting for a retry (tests). */
  get pendingDeliveries(): number {
    return this.pending.length;
  }

  private async check(): Promise<TickReport> {
    await this.retryPending();
    const now = this.deps.clock.now();
    let decision: Decision;
    let facts: PoolFacts;
    try {
      const f = await poolForecast(this.deps.pool, this.deps.state, now);
      const available = f.available;
      const prev = await this.deps.state.load(POOL_SUBJECT);
      decision = decide(available, prev, now, this.deps.policy);
      facts = { pool: this.deps.pool.label, forecast: f, thresholds: this.deps.policy, derive: this.deps.derive };
      const saved = await this.deps.state.save(POOL_SUBJECT, decision.next, prev?.revision ?? 0);
      if (!saved) {
        this.deps.log({ event: 'check-skipped', at: now.toISOString(), reason: 'another watcher recorded this check first', available });
        await this.healthy('database', now);
        return { ok: true, available, level: decision.next.level, delivered: [], failed: [] };
      }
    } catch (e) {
      await this.failed('database', e, now);
      return { ok: false, delivered: [], failed: [], error: message(e) };
    }
    await this.healthy('database', now);
    const f = facts.forecast;
    this.deps.log({
      event: 'check', at: now.toISOString(), available: f.available, level: decision.next.level, threshold: this.deps.policy.threshold,
      warning: this.deps.policy.warning, claims_per_day: round1(f.claimsPerDay), days_left: round1(f.daysLeft), next_index: f.nextIndex,
    });
    if (!decision.send) return { ok: true, available: f.available, level: decision.next.level, delivered: [], failed: [] };
    const alert = poolAlert(decision.send.kind, decision.send.level, facts, now);
    const { delivered, failed } = await this.deliver(alert, this.deps.notifiers);
    return { ok: true, available: f.available, level: decision.next.level, sent: alert.kind, delivered, failed };
  }

  /** Send to each notifier; failures are logged, queued for retry and counted against the channel. */
  private async deliver(alert: Alert, notifiers: readonly Notifier[], attempts = 0): Promise<{ delivered: string[]; failed: string[] }> {
    const delivered: string[] = [];
    const failed: string[] = [];
    await Promise.all(
      notifiers.map(async (n) => {
        if (await this.sendOne(n, alert, attempts + 1)) delivered.push(n.channel);
        else {
          failed.push(n.channel);
          if (attempts + 1 < this.maxAttempts) this.pending.push({ alert, notifier: n, attempts: attempts + 1 });
          else this.deps.log({ event: 'delivery-abandoned', at: this.deps.clock.now().toISOString(), channel: n.channel, alert: alert.kind, attempts: attempts + 1 });
        }
      }),
    );
    return { delivered, failed };
  }

  private async sendOne(n: Notifier, alert: Alert, attempt: number): Promise<boolean> {
    const now = this.deps.clock.now();
    try {
      await n.send(alert);
      this.deps.log({ event: 'delivered', at: now.toISOString(), channel: n.channel, alert: alert.kind, attempt });
      await this.healthy(n.channel, now);
      return true;
    } catch (e) {
      this.deps.log({ event: 'delivery-failed', at: now.toISOString(), channel: n.channel, alert: alert.kind, attempt, error: message(e) });
      await this.failed(n.channel, e, now);
      return false;
    }
  }

  private async retryPending(): Promise<void> {
    const due = this.pending.splice(0);
    for (const p of due) {
      // A newer alert of the same channel supersedes an older pool alert still waiting.
      const newer = due.some((q) => q !== p && q.notifier === p.notifier && q.alert.at > p.alert.at && isPoolAlert(q.alert) && isPoolAlert(p.alert));
      if (newer) continue;
      await this.deliver(p.alert, [p.notifier], p.attempts);
    }
  }

  private async failed(component: string, e: unknown, now: Date): Promise<void> {
    const t = this.trouble.get(component) ?? { failures: 0, reported: false, lastError: '' };
    t.failures += 1;
    t.lastError = message(e);
    this.trouble.set(component, t);
    if (component === 'database') {
      this.deps.log({ event: 'database-unavailable', at: now.toISOString(), failures: t.failures, error: t.lastError, code: e instanceof CodedError ? e.code : undefined });
    }
    if (t.failures >= this.failuresBeforeAlert && !t.reported) {
      t.reported = true;
      const others = this.deps.notifiers.filter((n) => n.channel !== component);
      await this.deliverOnce(troubleAlert('watcher-unavailable', component, t.lastError, t.failures, now), others);
    }
  }

  private async healthy(component: string, now: Date): Promise<void> {
    const t = this.trouble.get(component);
    if (!t) return;
    this.trouble.delete(component);
    if (t.reported) {
      const targets = component === 'database' ? this.deps.notifiers : this.deps.notifiers.filter((n) => n.channel !== component);
      await this.deliverOnce(troubleAlert('watcher-recovered', component, '', t.failures, now), targets);
    }
  }

  /** Trouble notices go out once, best effort (no retry queue, no recursion into trouble counting). */
  private async deliverOnce(alert: Alert, notifiers: readonly Notifier[]): Promise<void> {
    await Promise.all(
      notifiers.map(async (n) => {
        try {
          await n.send(alert);
          this.deps.log({ event: 'delivered', at: alert.at.toISOString(), channel: n.channel, alert: alert.kind, attempt: 1 });
        } catch (e) {
          this.deps.log({ event: 'delivery-failed', at: alert.at.toISOString(), channel: n.channel, alert: alert.kind, attempt: 1, error: message(e) });
        }
      }),
    );
  }
}

function isPoolAlert(a: Alert): boolean {
  return a.kind === 'low' || a.kind === 'repeat' || a.kind === 'recovered';
}
