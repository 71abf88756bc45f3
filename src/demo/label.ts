/** Printed first and last by `coldpool demo`, and in its help: nothing in a demo is real money. */
export const DEMO_LABEL = 'DEMO — regtest, throw-away keys, nothing here is real money';
