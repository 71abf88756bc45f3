/**
 * A private tmux server per test file: the pseudo-terminal our interactive
 * commands (init, restore, sign, review) are driven through, the way an
 * operator types. `.ci/run` installs tmux, so these tests run in CI.
 */
import { execFileSync } from 'node:child_process';

/** True when tmux is installed. */
export const hasTmux = ((): boolean => {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** A unique server name, so parallel test files never share sessions. */
export function tmuxSocket(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now()}`;
}

/** Run one tmux command on the server `socket`; returns its stdout. */
export function tmuxOn(socket: string, ...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
}

/** Stop the server `socket` and every session in it (no error when already gone). */
export function killTmux(socket: string): void {
  try {
    execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
  } catch {
    // Gone already, with its last session.
  }
}
