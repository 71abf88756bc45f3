// Preload (`node --import`) that stops the wall clock at one instant, so two
// runs of a command that stamps the time (`derive`'s "# created:" line, the
// sign log) write the same bytes. Built-ins only: it must load beside the
// offline bundle, where no node_modules exists.
const FIXED = Date.parse('2026-01-02T03:04:05.678Z');
const RealDate = Date;
class FixedDate extends RealDate {
  constructor(...args) {
    super(...(args.length === 0 ? [FIXED] : args));
  }
  static now() {
    return FIXED;
  }
}
globalThis.Date = FixedDate;
