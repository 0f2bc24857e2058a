import { ADMIN_PREFIX, adminRoutes, apiRoutes } from '@waiting-queue/http/route-tables';
import { pathOf } from '@waiting-queue/http/routes';
import { call } from './processes';

/** The JSON envelope of a response and its status, as {@link call} returns it. */
export type Reply = Awaited<ReturnType<typeof call>>;

/** Paths of the admin API under `/internal/admin/v1`. */
export const ADMIN = ADMIN_PREFIX;

/** `Authorization: Bearer <token>` as a header object; empty when `token` is undefined. */
export function bearer(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** POST /api/v1/item/:itemId/waiting-queue with header `user-id`: registers `userId` (public API). */
export function register(apiUrl: string, itemId: string, userId: string): Promise<Reply> {
  return call(apiUrl + pathOf(apiRoutes.register, { itemId }, { raw: true }), {
    method: 'POST',
    headers: { 'user-id': userId },
  });
}

/** GET /api/v1/item/:itemId/waiting-queue/:token with header `user-id`: a shopper's poll (public API). */
export function poll(apiUrl: string, itemId: string, token: string, userId: string): Promise<Reply> {
  return call(apiUrl + pathOf(apiRoutes.poll, { itemId, waitingQueueToken: token }, { raw: true }), {
    headers: { 'user-id': userId },
  });
}

/** GET /internal/v1/item/:itemId/waiting-queue/:token: the order service's validation. */
export function validate(apiUrl: string, itemId: string, token: string, internalToken?: string): Promise<Reply> {
  return call(apiUrl + pathOf(apiRoutes.validate, { itemId, waitingQueueToken: token }, { raw: true }), {
    headers: bearer(internalToken),
  });
}

/** POST /internal/v1/item/:itemId/waiting-queue/:token/consume: uses an admission once. */
export function consume(apiUrl: string, itemId: string, token: string, internalToken?: string): Promise<Reply> {
  return call(apiUrl + pathOf(apiRoutes.consume, { itemId, waitingQueueToken: token }, { raw: true }), {
    method: 'POST',
    headers: bearer(internalToken),
  });
}

/** PUT the global N through the admin API (`?tokenCountToMove=N`). */
export function putTokenCountToMove(adminUrl: string, n: number, adminToken?: string): Promise<Reply> {
  return call(`${adminUrl}${pathOf(adminRoutes.setTokenCountToMove)}?tokenCountToMove=${n}`, {
    method: 'PUT',
    headers: bearer(adminToken),
  });
}

/**
 * POST /waiting-item/:itemId/manually on the admin API: creates or updates a waiting item. When the admin API
 * refuses a stock set on an existing item for want of `If-Match` (412), it GETs the item and sends the update once
 * more under that ETag, as an operator who reads the item and then sets it knowingly. Tests of the precondition
 * itself call the API directly.
 */
export async function upsertItem(adminUrl: string, itemId: string, body: unknown, adminToken?: string): Promise<Reply> {
  const upsert = adminUrl + pathOf(adminRoutes.upsertWaitingItem, { itemId }, { raw: true });
  const first = await call(upsert, { method: 'POST', headers: bearer(adminToken), body });
  if (first.status !== 412) return first;
  const etag = (
    await call(adminUrl + pathOf(adminRoutes.getWaitingItem, { itemId }, { raw: true }), {
      headers: bearer(adminToken),
    })
  ).headers.get('etag');
  if (!etag) return first;
  return call(upsert, { method: 'POST', headers: { ...bearer(adminToken), 'if-match': etag }, body });
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Calls `probe` every `intervalMs` (default 100 ms) until it returns a value other than undefined/false, and
 * returns that value.
 * @throws naming `what` when `timeoutMs` (default 15 000 ms) pass first.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Asserts the FAIL envelope `{state:"FAIL", errorCode, errorMessage, data}` with `status` and `errorCode`. */
export function expectFailure(reply: Reply, status: number, errorCode: string): void {
  expect({ status: reply.status, errorCode: reply.body.errorCode }).toEqual({ status, errorCode });
  expect(reply.body.state).toBe('FAIL');
  expect(typeof reply.body.errorMessage).toBe('string');
}

/** Asserts a 200 SUCCESS envelope and returns its `data`. */
export function expectSuccess(reply: Reply): any {
  expect({ status: reply.status, state: reply.body.state, errorCode: reply.body.errorCode }).toEqual({
    status: 200,
    state: 'SUCCESS',
    errorCode: null,
  });
  return reply.body.data;
}
