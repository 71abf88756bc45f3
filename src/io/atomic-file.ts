import { closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CodedError } from '../core/errors.js';

/**
 * A file that appears whole or not at all. Bytes go to a temporary file
 * beside the target; `commit()` fsyncs it and moves it into place, with
 * link(2) when overwriting is not allowed so an existing file can never be
 * replaced, even by a race. `abort()` (or a crash) leaves the target as it was.
 */
export interface AtomicFile {
  write(text: string | Uint8Array): void;
  commit(): void;
  abort(): void;
}

export interface AtomicFileOptions {
  /** Replace an existing target (the `--force` flag). */
  readonly overwrite?: boolean;
  /** File mode, e.g. 0o600 for secrets. */
  readonly mode?: number;
}

/** Fail early, before any work, when the target exists and may not be replaced. */
export function assertWritable(path: string, overwrite = false, flag = '--out'): void {
  if (!overwrite && existsSync(path)) {
    throw new CodedError('EXISTS', `"${flag}" ${path} already exists; refusing to overwrite it`, { hint: 'choose another file name, or pass --force to replace it' });
  }
}

export function openAtomicFile(path: string, options: AtomicFileOptions = {}): AtomicFile {
  assertWritable(path, options.overwrite);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined = openSync(tmp, 'wx', options.mode ?? 0o644);
  const closeTmp = (): void => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  return {
    write(data) {
      if (fd === undefined) throw new CodedError('INTERNAL', 'write after commit/abort');
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    },
    commit() {
      if (fd === undefined) throw new CodedError('INTERNAL', 'commit after commit/abort');
      fsyncSync(fd);
      closeTmp();
      try {
        if (options.overwrite) {
          renameSync(tmp, path);
        } else {
          linkSync(tmp, path); // fails with EEXIST rather than replacing
          unlinkSync(tmp);
        }
      } catch (e) {
        try { unlinkSync(tmp); } catch { /* already gone */ }
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new CodedError('EXISTS', `${path} appeared while it was being written; refusing to overwrite it`, { cause: e });
        }
        throw e;
      }
    },
    abort() {
      closeTmp();
      try { unlinkSync(tmp); } catch { /* already gone */ }
    },
  };
}

/** Write `data` to `path` whole or not at all (openAtomicFile, write, commit; abort on any failure). */
export function writeAtomicFile(path: string, data: string | Uint8Array, options: AtomicFileOptions = {}): void {
  const file = openAtomicFile(path, options);
  try {
    file.write(data);
    file.commit();
  } catch (e) {
    file.abort();
    throw e;
  }
}
