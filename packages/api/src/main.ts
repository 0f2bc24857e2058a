import { createServer } from 'node:http';
import {
  connectRedis,
  createLogger,
  isReady,
  loadConfig,
  QueueStore,
  redisTarget,
  resolveTokenSecret,
  serveWithLifecycle,
  TokenCodec,
} from '@waiting-queue/shared';
import { createApiApp } from './app';
import { createFastPath } from './fast-path';
import { WaitingRoom } from './waiting-room';
import { warmUp } from './warmup';

/** Starts the api server (public + internal API) from the environment; see README for the variables. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  const redis = await connectRedis(redisTarget(config), 'wq-api', 60_000);
  redis.on('close', () => logger.warn('redis connection lost; answering 503 until it is back'));
  redis.on('ready', () => logger.info('redis ready'));

  const secret = await resolveTokenSecret(redis, config.TOKEN_SECRET, TokenCodec.generateSecret);
  const room = new WaitingRoom(new QueueStore(redis), new TokenCodec(secret));
  const app = createApiApp({ room, logger, internalToken: config.INTERNAL_TOKEN, bodyLimitBytes: config.BODY_LIMIT_BYTES });
  const fastPath = createFastPath({ room, logger, internalToken: config.INTERNAL_TOKEN });
  const server = createServer((req, res) => {
    if (!fastPath(req, res)) app(req, res);
  });

  let warmedUp = false;
  const port = await serveWithLifecycle({
    server,
    port: config.API_PORT,
    host: config.API_HOST,
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    isReady: () => warmedUp && isReady(redis),
    onShutdown: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  });
  logger.info({ port }, 'api listening; warming up');
  await warmUp(redis, `http://127.0.0.1:${port}`, logger, config.INTERNAL_TOKEN);
  warmedUp = true;
  logger.info({ port, url: `http://127.0.0.1:${port}` }, 'api ready');
}

main().catch((err) => {
  // eslint-disable-next-line no-console
  console.error('api failed to start:', err);
  process.exit(1);
});
