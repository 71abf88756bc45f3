import { readFileSync, statSync } from 'node:fs';
import { CodedError, isCoded } from '../core/errors.js';
import { MAX_TRUST_BYTES, parseTrustText, serializeTrust, type Trust } from '../core/trust.js';
import { writeAtomicFile } from '../io/atomic-file.js';

/**
 * The trust file on disk, for both programs (the operator box and the
 * signer each keep their own copy). The rules are in core/trust.ts; here
 * only reading it whole and replacing it whole.
 */

/** Read and parse a trust file: NOT_FOUND when missing, INVALID_INPUT naming the file and the field otherwise. */
export function readTrustFile(path: string, option = '--trust'): Trust {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CodedError('NOT_FOUND', `"${option}" trust file ${JSON.stringify(path)} does not exist`, {
        hint: 'create it with `coldpool trust add-operator --trust FILE --key OPERATOR_KEY --network N`',
      });
    }
    throw ioError(path, e);
  }
  if (size > MAX_TRUST_BYTES) throw new CodedError('INVALID_INPUT', `trust file ${JSON.stringify(path)} is ${size} bytes, far larger than a trust file`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw ioError(path, e);
  }
  return parseTrustText(text, `trust file ${JSON.stringify(path)}`);
}

/** True when `path` exists (a trust file to update rather than create). */
export function trustFileExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError(path, e);
  }
}

/**
 * Write `trust` canonically, atomically: readers see the old file or the
 * new one, never half of one. `replace: false` refuses (EXISTS) a file that
 * appeared meanwhile, so two first-time writers cannot both create it.
 */
export function writeTrustFile(path: string, trust: Trust, options: { replace: boolean }): void {
  try {
    writeAtomicFile(path, serializeTrust(trust), { overwrite: options.replace, mode: 0o644 });
  } catch (e) {
    throw isCoded(e) ? e : ioError(path, e);
  }
}

function ioError(path: string, cause: unknown): CodedError {
  const code = (cause as NodeJS.ErrnoException).code ?? 'error';
  return new CodedError('INVALID_INPUT', `cannot use trust file ${JSON.stringify(path)}: ${code}`, { cause });
}
