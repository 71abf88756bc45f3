/**
 * Ports of the low-water watcher (flow 5): where its memory lives, how it
 * reads the pool's gauge, and how it tells the operator. Adapters:
 * src/store/watcher-state-{sqlite,mysql}.ts, src/notify/{email,webhook,log}.ts.
 */

/** How low the pool is: `ok` at or above every threshold, `warning` below the earlier one, `critical` below the threshold. */
export type AlertLevel = 'ok' | 'warning' | 'critical';

/**
 * What the watcher remembers between checks (and restarts). One row per
 * watched subject (`pool` for the receive pool).
 */
export interface WatcherState {
  readonly level: AlertLevel;
  /** When the last low alert (or its repeat) went out; undefined while ok. */
  readonly lastAlertAt: Date | undefined;
  /** The count at the last check. */
  readonly lastCount: number;
  readonly checkedAt: Date;
  /** Bumped by every save: a watcher that lost a race to another one does not send. */
  readonly revision: number;
}

/** What the pool looks like for a forecast, beside the available count. */
export interface PoolGauge {
  /** Receive addresses handed out since `since` (from `assigned_at`). */
  readonly claimedSince: number;
  /** When the first batch was loaded (the rate window never starts before it), or undefined for an empty pool. */
  readonly firstLoadedAt: Date | undefined;
  /** First receive index not loaded yet: the `--from` of the next derive. */
  readonly nextIndex: number;
}

/**
 * The watcher's own table (sql/<dialect>/002_watcher.sql). The schema is
 * applied by `coldpool db migrate` like every other file.
 */
export interface WatcherStateStore {
  readonly label: string;
  load(subject: string): Promise<WatcherState | undefined>;
  /**
   * Save `next` if the stored revision is still `expectedRevision` (0 when
   * nothing was stored): true when saved, false when another watcher saved
   * first (then this one must not send).
   */
  save(subject: string, next: Omit<WatcherState, 'revision'>, expectedRevision: number): Promise<boolean>;
  gauge(since: Date): Promise<PoolGauge>;
  close(): Promise<void>;
}

export type AlertKind = 'low' | 'repeat' | 'recovered' | 'watcher-unavailable' | 'watcher-recovered';

/** One message to the operator: the same facts on every channel. */
export interface Alert {
  readonly kind: AlertKind;
  readonly level: AlertLevel;
  /** One line, for a mail subject or a chat preview. */
  readonly title: string;
  /** The whole message, plain text, the derive command on its own line. */
  readonly text: string;
  readonly at: Date;
  /** The facts, for JSON consumers (webhook body, log line). */
  readonly facts: Readonly<Record<string, unknown>>;
}

/** An alert channel. `send` throws (UNAVAILABLE) when the alert did not get through. */
export interface Notifier {
  /** `email`, `webhook`, `log`. */
  readonly channel: string;
  /** Check at startup that the channel can work (e.g. SMTP handshake); throws a CodedError when not. */
  verify(): Promise<void>;
  send(alert: Alert): Promise<void>;
  close(): Promise<void>;
}

/** The time, injectable so tests can move it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
