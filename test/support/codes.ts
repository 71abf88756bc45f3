import { isCoded } from '../../src/core/errors.js';

/** The CodedError code `fn` throws, 'accepted' when it returns, or the text of any other error. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return isCoded(e) ? e.code : `uncoded: ${String(e)}`;
  }
  return 'accepted';
}
