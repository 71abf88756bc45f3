/**
 * Tests open one repository of a database at a time; each of these opens its
 * own handle through the one opener (openDatabase) and gives back that
 * repository with the handle's `migrate()` and `close()`, so a test can
 * still hold two "processes" (two handles) on one database side by side.
 */
import type { ChainStore, Database, MigrateOutcome, PayoutStore, PoolStore, WatcherStateStore, WithdrawalStore } from '../../src/core/ports.js';
import { openDatabase, type DatabaseOptions } from '../../src/store/db.js';

export type Opened<T> = T & { readonly database: Database; migrate(): Promise<MigrateOutcome>; close(): Promise<void> };

function view<T extends object>(db: Database, repo: T): Opened<T> {
  return new Proxy(repo, {
    get(target, prop) {
      if (prop === 'close') return () => db.close();
      if (prop === 'migrate') return () => db.migrate();
      if (prop === 'database') return db;
      if (prop === 'label' && !(prop in target)) return db.label;
      if (prop === 'dialect' && !(prop in target)) return db.dialect;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Opened<T>;
}

const open = (url: string | undefined, options: DatabaseOptions = {}) => openDatabase(url ?? process.env.COLDPOOL_DB ?? 'sqlite:./coldpool.db', options);

export const openStore = (url?: string, options?: DatabaseOptions): Opened<PoolStore> => { const db = open(url, options); return view(db, db.pool); };
export const openWithdrawalStore = (url?: string, options?: DatabaseOptions): Opened<WithdrawalStore> => { const db = open(url, options); return view(db, db.withdrawals); };
export const openPayoutStore = (url?: string): Opened<PayoutStore> => { const db = open(url); return view(db, db.payouts); };
export const openChainStore = (url?: string): Opened<ChainStore> => { const db = open(url); return view(db, db.chain); };
export const openWatcherStateStore = (url?: string): Opened<WatcherStateStore> => { const db = open(url); return view(db, db.watcher); };
