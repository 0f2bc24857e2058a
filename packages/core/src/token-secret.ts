import { keys } from './keys';
import type { RedisClient } from './redis';

/**
 * The HMAC secret of token ids: `configured` when given, else one shared through Redis (`wq:token-secret`,
 * written once with SET NX so that every api process of the deployment uses the same one).
 */
export async function resolveTokenSecret(
  redis: RedisClient,
  configured: string | undefined,
  generate: () => string,
): Promise<string> {
  if (configured) return configured;
  await redis.set(keys.tokenSecret, generate(), 'NX');
  const secret = await redis.get(keys.tokenSecret);
  if (!secret) throw new Error('token secret missing from Redis');
  return secret;
}
