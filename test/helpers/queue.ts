import type { QueuePosition, QueueStore, RegisterOptions, RegisterRefusal } from '@waiting-queue/core/queue-store';

/**
 * Registers `userId` in `itemId`'s waiting queue through the production path ({@link QueueStore.registerOrRefuse},
 * what the api's waiting room calls), so that script tests assert what shoppers get.
 * @returns the place, or the bare reason registration is refused (a TIME_DEAL's opening time is left out).
 */
export async function register(
  queue: QueueStore,
  itemId: string,
  userId: string,
  opts: RegisterOptions = {},
): Promise<QueuePosition | RegisterRefusal> {
  const r = await queue.registerOrRefuse(itemId, userId, opts);
  return 'refusal' in r ? r.refusal : r;
}
