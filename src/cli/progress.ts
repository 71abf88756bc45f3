/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal, so
 * pipes and logs stay clean. Redraws at most ten times a second.
 */
export interface Progress {
  tick(done: number): void;
  done(): void;
}

export function progressBar(label: string, total: number, enabled = Boolean(process.stderr.isTTY)): Progress {
  if (!enabled || total <= 0) return { tick: () => {}, done: () => {} };
  const started = Date.now();
  let last = 0;
  const draw = (done: number): void => {
    const ratio = Math.min(1, done / total);
    const width = 30;
    const filled = Math.round(ratio * width);
    const elapsed = (Date.now() - started) / 1000;
    const rate = elapsed > 0 ? Math.round(done / elapsed) : 0;
    const eta = rate > 0 ? Math.ceil((total - done) / rate) : 0;
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${rate}/s eta ${eta}s `);
  };
  return {
    tick(done) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      draw(done);
    },
    done() {
      process.stderr.write('\n');
    },
  };
}
