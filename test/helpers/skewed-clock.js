/*
 * A preload (`node --require test/helpers/skewed-clock.js`) that runs a real product process with a host clock
 * CLOCK_SKEW_MS milliseconds off (may be negative): Date.now() and `new Date()` without arguments are shifted, as
 * on a machine whose clock is wrong. The machine's clock cannot be changed in a test, so this stands in for it.
 */
'use strict';
const skew = Number(process.env.CLOCK_SKEW_MS || 0);
if (skew !== 0) {
  const RealDate = Date;
  const realNow = RealDate.now;
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(realNow() + skew);
      else super(...args);
    }
    static now() {
      return realNow() + skew;
    }
  }
  globalThis.Date = SkewedDate;
}
