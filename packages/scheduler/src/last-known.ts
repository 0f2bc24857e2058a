import { isRedisUnavailable } from '@waiting-queue/core/errors';

/**
 * Wraps a Redis read so that, while its key's node is unreachable (a Cluster failover: isRedisUnavailable), it
 * answers the value it last read. On a Cluster the item registry and N each live on one master; its failover must
 * not stop the reads of every other item.
 * @returns the wrapped read; it throws the read's error when it is not an outage or nothing was read yet.
 */
export function orLastKnown<T>(read: () => Promise<T>): () => Promise<T> {
  let last: { value: T } | undefined;
  return async () => {
    try {
      const value = await read();
      last = { value };
      return value;
    } catch (err) {
      if (last === undefined || !isRedisUnavailable(err)) throw err;
      return last.value;
    }
  };
}
