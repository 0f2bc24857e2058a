import { randomBytes } from 'node:crypto';
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
import { EntryPassIssuer } from './entry-pass';
import { createFastPath } from './fast-path';
import { headerIdentity, jwtIdentity } from './identity';
import { LoadShedder } from './load-shedder';
import { createOperations } from './operations';
import { RegistrationLimiter } from './rate-limit';
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
  const limiter = new RegistrationLimiter(
    redis,
    { points: config.RATE_LIMIT_USER_POINTS, durationSeconds: config.RATE_LIMIT_USER_SECONDS },
    { points: config.RATE_LIMIT_IP_POINTS, durationSeconds: config.RATE_LIMIT_IP_SECONDS },
  );
  const entryPasses = await EntryPassIssuer.create(redis, config.ENTRY_PASS_PRIVATE_JWK);
  if (!config.ENTRY_PASS_PRIVATE_JWK) logger.warn('ENTRY_PASS_PRIVATE_JWK is not set: entry passes are signed with a key generated once and kept in Redis');
  const room = new WaitingRoom(new QueueStore(redis), new TokenCodec(secret), { limiter: limiter.enabled ? limiter : undefined, entryPasses });
  const jwtMode = Boolean(config.AUTH_JWT_SECRET || config.AUTH_JWKS_URL);
  const identity = jwtMode
    ? jwtIdentity({ secret: config.AUTH_JWT_SECRET, jwksUrl: config.AUTH_JWKS_URL, issuer: config.AUTH_JWT_ISSUER, audience: config.AUTH_JWT_AUDIENCE })
    : headerIdentity;
  if (jwtMode) logger.info('identity mode: userId from a verified bearer JWT (sub); the user-id header is ignored');
  let warmedUp = false;
  const warmupKey = randomBytes(24).toString('hex');
  const ops = createOperations(room, identity, config.TRUST_PROXY, { key: warmupKey, active: () => !warmedUp });
  const app = createApiApp({ ops, logger, entryPasses, internalToken: config.INTERNAL_TOKEN, bodyLimitBytes: config.BODY_LIMIT_BYTES });
  const fastPath = createFastPath({ ops, logger, internalToken: config.INTERNAL_TOKEN });
  const shedder = new LoadShedder(config.MAX_IN_FLIGHT);
  const server = createServer((req, res) => {
    // Not shed during warm-up: the api is not ready yet, so only its own warm-up requests arrive.
    if (warmedUp && !shedder.admit(res)) return;
    if (!fastPath(req, res)) app(req, res);
  });

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
  await warmUp(redis, `http://127.0.0.1:${port}`, logger, config.INTERNAL_TOKEN, warmupKey);
  warmedUp = true;
  logger.info({ port, url: `http://127.0.0.1:${port}` }, 'api ready');
}

main().catch((err) => {
  // eslint-disable-next-line no-console
  console.error('api failed to start:', err);
  process.exit(1);
});
