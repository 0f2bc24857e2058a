import { Redis } from 'ioredis';
import { startEmbeddedRedis, type EmbeddedRedis } from '@waiting-queue/testkit/embedded-redis';

/**
 * A redis-server of the test's own on a free port (never the shared one on 6379), and a plain client to it.
 * Call `stop()` in afterAll: it quits the client and stops the server by pid.
 */
export async function testRedis(
  extraArgs: string[] = [],
): Promise<{ server: EmbeddedRedis; client: Redis; url: string; stop: () => Promise<void> }> {
  const server = await startEmbeddedRedis(extraArgs);
  const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  return {
    server,
    client,
    url: server.url,
    stop: async () => {
      client.disconnect();
      await server.stop();
    },
  };
}
