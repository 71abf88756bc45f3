/** The address pool at a glance (`pool status`, health checks). */
import type { PoolStatus, PoolStore } from '../core/ports.js';

/** Counts, batches, the next index to derive and the highest indexes handed out and funded. */
export function poolStatus(pool: PoolStore): Promise<PoolStatus> {
  return pool.status();
}

/** Available receive addresses left, for a health check or the watcher. */
export function availableAddresses(pool: Pick<PoolStore, 'countAvailable'>): Promise<number> {
  return pool.countAvailable();
}
