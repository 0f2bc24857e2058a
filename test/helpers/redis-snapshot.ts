import type { Redis } from 'ioredis';

/** One key of a {@link RedisSnapshot}: its type and its whole value in a comparable form. */
export interface KeyDump {
  type: string;
  /** string: the value; hash: sorted [field, value] pairs; zset: [member, score] pairs by score; set/list: members. */
  value: unknown;
}

/** Every key of a Redis with its value, keyed by name. */
export type RedisSnapshot = Record<string, KeyDump>;

/**
 * Reads every key (KEYS *: only for a test's own small redis-server) with its type and value, so that two
 * snapshots compare with `toEqual`. TTLs are left out (they tick down).
 */
export async function snapshotRedis(client: Redis): Promise<RedisSnapshot> {
  const names = (await client.keys('*')).sort();
  const out: RedisSnapshot = {};
  for (const key of names) {
    const type = await client.type(key);
    let value: unknown;
    switch (type) {
      case 'string':
        value = await client.get(key);
        break;
      case 'hash':
        value = Object.entries(await client.hgetall(key)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        break;
      case 'zset': {
        const flat = await client.zrange(key, 0, -1, 'WITHSCORES');
        const pairs: [string, string][] = [];
        for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]]);
        value = pairs;
        break;
      }
      case 'set':
        value = (await client.smembers(key)).sort();
        break;
      case 'list':
        value = await client.lrange(key, 0, -1);
        break;
      default:
        value = null;
    }
    out[key] = { type, value };
  }
  return out;
}
