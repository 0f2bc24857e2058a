import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import {
  connectRedis,
  createLogger,
  isReady,
  meterRedisNodes,
  redisReadiness,
  setDurability,
  loadConfig,
  ClaimStore,
  ItemStore,
  observedListener,
  publishAbandonAfterMs,
  ReservationStore,
  RequestTelemetry,
  startProcessMetrics,
  QueueStore,
  resolveTokenSecret,
  serveWithLifecycle,
  TokenCodec,
  VerifiedTokenCache,
} from '@waiting-queue/shared';
import { createApiApp } from './app';
import { EntryPassIssuer } from './entry-pass';
import { createFastPath } from './fast-path';
import { claimOperation } from './stock-routes';
import { headerIdentity, jwtIdentity } from './identity';
import { LoadShedder } from './load-shedder';
import { instrumentOperations, resetAfterWarmup, shedderMetrics } from './metrics';
import { createOperations } from './operations';
import { RegistrationLimiter } from './rate-limit';
import { StockService } from './stock';
import { WaitingRoom } from './waiting-room';
import { selfUrl, warmUp } from './warmup';

/** Starts the api server (public + internal API) from the environment; see README for the variables. */
async function main(): Promise<void> {
  const config = loadConfig(process.env, 'api');
  const logger = createLogger('api', config.logLevel);
  const redis = await connectRedis(config.redis, 'wq-api', 60_000);
  redis.on('close', () => logger.warn('redis connection lost; answering 503 until it is back'));
  redis.on('ready', () => logger.info('redis ready'));

  await publishAbandonAfterMs(redis, config.abandonAfterMs);
  // Outside DEV_MODE loadConfig requires TOKEN_SECRET and ENTRY_PASS_PRIVATE_JWK: the Redis fallbacks are for development.
  const secret = await resolveTokenSecret(redis, config.tokenSecret, TokenCodec.generateSecret);
  const previousSecrets = config.previousTokenSecrets;
  const limiter = new RegistrationLimiter(redis, config.rateLimit.user, config.rateLimit.ip);
  const entryPasses = await EntryPassIssuer.create(redis, config.entryPassPrivateJwk, config.entryPassPublicJwks);
  if (!config.entryPassPrivateJwk) logger.warn('DEV_MODE: ENTRY_PASS_PRIVATE_JWK is not set: entry passes are signed with a key generated once and kept in Redis');
  if (!config.tokenSecret) logger.warn('DEV_MODE: TOKEN_SECRET is not set: tokens use a secret generated once and kept in Redis');
  if (!config.internalToken) logger.warn('DEV_MODE: INTERNAL_TOKEN is not set: the internal API runs WITHOUT authentication; never do this in production');
  const limits = config.idempotency;
  const room = new WaitingRoom(new QueueStore(redis, limits), new TokenCodec(secret, previousSecrets), {
    limiter: limiter.enabled ? limiter : undefined,
    entryPasses,
    abandonAfterMs: config.abandonAfterMs,
    verifiedTokens: new VerifiedTokenCache(config.tokenCacheSize),
  });
  const identity = config.jwt ? jwtIdentity(config.jwt) : headerIdentity;
  if (config.jwt) {
    logger.info({ laneClaim: config.jwt.laneClaim }, 'identity mode: userId and lane from a verified bearer JWT (sub, lane claim); the user-id and user-tier headers are ignored');
  }
  const stock = new StockService({
    queue: new QueueStore(redis, limits),
    tokens: new TokenCodec(secret, previousSecrets),
    reservations: new ReservationStore(redis, limits),
    claims: new ClaimStore(redis, limits),
    reservationTtlMs: config.reservationTtlMs,
  });
  let warmedUp = false;
  const warmupKey = randomBytes(24).toString('hex');
  setDurability(config.durability.replicas, config.durability.timeoutMs);
  startProcessMetrics();
  meterRedisNodes(redis);
  const telemetry = new RequestTelemetry(logger, config.logRequests);
  const ops = instrumentOperations(createOperations(room, identity, config.trustProxy, { key: warmupKey, active: () => !warmedUp }));
  const app = createApiApp({ ops, logger, entryPasses, internalToken: config.internalToken, bodyLimitBytes: config.bodyLimitBytes, page: { items: new ItemStore(redis) }, stock: { service: stock, identity } });
  const fastPath = createFastPath({ ops, logger, internalToken: config.internalToken, telemetry, claim: claimOperation(stock, identity) });
  // Request ids, request logs, HTTP metrics, /metrics and /openapi.json around the fast path and the express app.
  const listener = observedListener({ telemetry, app, fastPath, metricsToken: config.metricsToken });
  const shedder = new LoadShedder(config.maxInFlight);
  shedderMetrics(shedder);
  const server = createServer((req, res) => {
    // Not shed during warm-up: the api is not ready yet, so only its own warm-up requests arrive.
    if (warmedUp && !shedder.admit(res)) return;
    listener(req, res);
  });

  const port = await serveWithLifecycle({
    server,
    port: config.port,
    host: config.host,
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    isReady: () => warmedUp && isReady(redis),
    readyDetails: () => redisReadiness(redis),
    onShutdown: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  });
  logger.info({ port }, 'api listening; warming up');
  await warmUp(redis, selfUrl(server.address()), logger, config.internalToken, warmupKey);
  resetAfterWarmup();
  warmedUp = true;
  logger.info({ port, url: selfUrl(server.address()) }, 'api ready');
}

main().catch((err) => {
  // eslint-disable-next-line no-console
  console.error('api failed to start:', err);
  process.exit(1);
});
