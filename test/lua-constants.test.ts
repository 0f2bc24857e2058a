import { LANE_SPAN, LUA_CONSTANTS, OUTBOX_MAXLEN } from '@waiting-queue/core/lua-constants';
import { readScripts } from '@waiting-queue/core/scripts';

/**
 * A constant that Lua and TypeScript share has one source (packages/core/src/lua-constants.ts): the loaded
 * scripts carry its value, and no `-- @const` placeholder survives loading.
 */
describe('Lua constants come from lua-constants.ts', () => {
  test('every loaded script has its -- @const lines replaced by the TypeScript values', () => {
    const scripts = readScripts();
    for (const s of scripts)
      expect({ command: s.command, placeholder: /^-- @const/m.test(s.lua) }).toEqual({
        command: s.command,
        placeholder: false,
      });
    const register = scripts.find((s) => s.command === 'wq_register')!;
    expect(register.lua).toContain(`local LANE_SPAN = ${LANE_SPAN}\n`);
    const claim = scripts.find((s) => s.command === 'wq_claim')!;
    expect(claim.lua).toContain(`local OUTBOX_MAXLEN = ${OUTBOX_MAXLEN}\n`);
    const reserve = scripts.find((s) => s.command === 'wq_reserve')!;
    expect(reserve.lua).toContain(
      "local RESERVATION_STATUS = {PENDING = 'PENDING', CONFIRMED = 'CONFIRMED', CANCELLED = 'CANCELLED', EXPIRED = 'EXPIRED'}\n",
    );
    expect(LUA_CONSTANTS).toMatchObject({ LANE_SPAN: 2 ** 40, OUTBOX_MAXLEN: 100_000 });
  });
});
