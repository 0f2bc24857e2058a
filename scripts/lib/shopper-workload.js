// @ts-check
/**
 * The mixed shopper workload of `npm run load`, as an autocannon `requests` list.
 *
 * Every connection repeats a cycle of 5 requests: 1 registration of a new user, then 4 shopper actions. An action
 * takes, from pools shared by all connections, an admitted user (→ POST /internal/v1/…/consume, as the order service
 * does once the shopper orders) or else a waiting user (→ GET poll; when it says `canOrder`, the user moves to the
 * admitted pool); with both pools empty it registers another user. So registration : poll+consume is about 1 : 4,
 * and every user who registers is polled until admitted and then consumed: with a scheduler that admits at least
 * as fast as users register, the waiting queue and the entry set stay small (no growth by design during a soak).
 *
 * A user whose request is answered with an error (429, 5xx) goes back to its pool and is tried again; a 404 on a
 * poll or consume (expired admission) drops the user, and so does a request that gets no answer at all (socket
 * error, timeout: autocannon reports no response); such a user stays in Redis until its admission expires.
 */

const { apiRoutes } = require('@waiting-queue/http/route-tables');
const { pathOf } = require('@waiting-queue/http/routes');

const CYCLE = 5;

/**
 * @param {{itemId: string, internalToken?: string, prefix?: string}} o `prefix` makes user ids unique per run.
 * @returns {{requests: object[], counters: {registered: number, polls: number, admitted: number, consumed: number}, pools: () => {waiting: number, admitted: number}}}
 */
function shopperWorkload(o) {
  const prefix = o.prefix ?? `l${Date.now().toString(36)}`;
  // The paths come from the route tables, built once per workload: a request only joins its token in.
  const base = pathOf(apiRoutes.register, { itemId: o.itemId });
  /** @param {import('@waiting-queue/http/routes').RouteSpec} route @returns {string[]} the path before and after the token */
  const aroundToken = (route) => pathOf(route, { itemId: o.itemId, waitingQueueToken: '\u0000' }).split('%00');
  const [pollHead, pollTail] = aroundToken(apiRoutes.poll);
  const [consumeHead, consumeTail] = aroundToken(apiRoutes.consume);
  const auth = o.internalToken ? { authorization: `Bearer ${o.internalToken}` } : {};
  /** @type {{userId: string, token: string}[]} */
  const waiting = [];
  /** @type {{userId: string, token: string}[]} */
  const admitted = [];
  const counters = { registered: 0, polls: 0, admitted: 0, consumed: 0 };
  let nextUser = 0;

  /**
   * autocannon's request of a connection, and that connection's context (what it sent last).
   * @typedef {{method?: string, path?: string, headers?: Record<string, string>, body?: unknown}} Req
   * @typedef {{last?: {kind: 'register'|'consume'|'poll', user: {userId: string, token: string}}}} Ctx
   */

  /** @param {Req} req @param {Ctx} ctx */
  const registerReq = (req, ctx) => {
    const userId = `${prefix}_${nextUser++}`;
    ctx.last = { kind: 'register', user: { userId, token: '' } };
    return { ...req, method: 'POST', path: base, headers: { ...req.headers, 'user-id': userId }, body: undefined };
  };

  /** @param {Req} req @param {Ctx} ctx */
  const act = (req, ctx) => {
    if (admitted.length > 0) {
      const user = /** @type {{userId: string, token: string}} */ (admitted.shift());
      ctx.last = { kind: 'consume', user };
      return {
        ...req,
        method: 'POST',
        path: `${consumeHead}${user.token}${consumeTail}`,
        headers: { ...req.headers, ...auth },
        body: undefined,
      };
    }
    if (waiting.length > 0) {
      const user = /** @type {{userId: string, token: string}} */ (waiting.shift());
      ctx.last = { kind: 'poll', user };
      return {
        ...req,
        method: 'GET',
        path: `${pollHead}${user.token}${pollTail}`,
        headers: { ...req.headers, 'user-id': user.userId },
        body: undefined,
      };
    }
    return registerReq(req, ctx);
  };

  /** @param {number} status @param {string | Buffer} body @param {Ctx} ctx */
  const onResponse = (status, body, ctx) => {
    const last = ctx.last;
    if (!last) return;
    ctx.last = undefined;
    let data = null;
    if (status === 200) {
      try {
        data = JSON.parse(String(body)).data;
      } catch {
        data = null;
      }
    }
    if (last.kind === 'register') {
      if (!data) return;
      counters.registered++;
      const user = { userId: last.user.userId, token: data.waitingQueueToken };
      if (data.canOrder) {
        counters.admitted++;
        admitted.push(user);
      } else waiting.push(user);
    } else if (last.kind === 'poll') {
      counters.polls++;
      if (status === 404) return;
      if (data && data.canOrder) {
        counters.admitted++;
        admitted.push(last.user);
      } else waiting.push(last.user);
    } else if (last.kind === 'consume') {
      if (status === 200) counters.consumed++;
      else if (status !== 404) admitted.push(last.user);
    }
  };

  const requests = Array.from({ length: CYCLE }, (_, i) => ({
    method: 'GET',
    path: base,
    setupRequest: i === 0 ? registerReq : act,
    onResponse,
  }));
  return { requests, counters, pools: () => ({ waiting: waiting.length, admitted: admitted.length }) };
}

module.exports = { shopperWorkload, CYCLE };
