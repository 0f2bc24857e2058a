import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import {
  connectRedis,
  idempotencyLimits,
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
  redisTarget,
  resolveTokenSecret,
  serveWithLifecycle,
  TokenCodec,
  VerifiedTokenCache,
} from '@waiting-queue/shared';
import { createApiApp } from './app';
import { EntryPassIssuer } from './entry-pass';
import { createFastPath } from './fast-path';
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
  const logger = createLogger('api', config.LOG_LEVEL);
  const redis = await connectRedis(redisTarget(config), 'wq-api', 60_000);
  redis.on('close', () => logger.warn('redis connection lost; answering 503 until it is back'));
  redis.on('ready', () => logger.info('redis ready'));

  await publishAbandonAfterMs(redis, config.ABANDON_AFTER_SECONDS * 1000);
  // Outside DEV_MODE loadConfig requires TOKEN_SECRET and ENTRY_PASS_PRIVATE_JWK: the Redis fallbacks are for development.
  const secret = await resolveTokenSecret(redis, config.TOKEN_SECRET, TokenCodec.generateSecret);
  const previousSecrets = (config.TOKEN_SECRET_PREVIOUS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const limiter = new RegistrationLimiter(
    redis,
    { points: config.RATE_LIMIT_USER_POINTS, durationSeconds: config.RATE_LIMIT_USER_SECONDS },
    { points: config.RATE_LIMIT_IP_POINTS, durationSeconds: config.RATE_LIMIT_IP_SECONDS },
  );
  const entryPasses = await EntryPassIssuer.create(redis, config.ENTRY_PASS_PRIVATE_JWK, config.ENTRY_PASS_PUBLIC_JWKS);
  if (!config.ENTRY_PASS_PRIVATE_JWK) logger.warn('DEV_MODE: ENTRY_PASS_PRIVATE_JWK is not set: entry passes are signed with a key generated once and kept in Redis');
  if (!config.TOKEN_SECRET) logger.warn('DEV_MODE: TOKEN_SECRET is not set: tokens use a secret generated once and kept in Redis');
  if (!config.INTERNAL_TOKEN) logger.warn('DEV_MODE: INTERNAL_TOKEN is not set: the internal API runs WITHOUT authentication; never do this in production');
  const limits = idempotencyLimits(config);
  const room = new WaitingRoom(new QueueStore(redis, limits), new TokenCodec(secret, previousSecrets), {
    limiter: limiter.enabled ? limiter : undefined,
    entryPasses,
    abandonAfterMs: config.ABANDON_AFTER_SECONDS * 1000,
    verifiedTokens: new VerifiedTokenCache(config.TOKEN_CACHE_SIZE),
  });
  const jwtMode = Boolean(config.AUTH_JWT_SECRET || config.AUTH_JWKS_URL);
  const identity = jwtMode
    ? jwtIdentity({
        secret: config.AUTH_JWT_SECRET,
        jwksUrl: config.AUTH_JWKS_URL,
        issuer: config.AUTH_JWT_ISSUER,
        audience: config.AUTH_JWT_AUDIENCE,
        laneClaim: config.AUTH_JWT_LANE_CLAIM,
      })
    : headerIdentity;
  if (jwtMode) {
    logger.info({ laneClaim: config.AUTH_JWT_LANE_CLAIM }, 'identity mode: userId and lane from a verified bearer JWT (sub, lane claim); the user-id and user-tier headers are ignored');
  }
  const stock = new StockService({
    queue: new QueueStore(redis, limits),
    tokens: new TokenCodec(secret, previousSecrets),
    reservations: new ReservationStore(redis, limits),
    claims: new ClaimStore(redis, limits),
    reservationTtlMs: config.RESERVATION_TTL_SECONDS * 1000,
  });
  let warmedUp = false;
  const warmupKey = randomBytes(24).toString('hex');
  setDurability(config.DURABILITY_REPLICAS, config.DURABILITY_TIMEOUT_MS);
  startProcessMetrics();
  meterRedisNodes(redis);
  const telemetry = new RequestTelemetry(logger, config.LOG_REQUESTS);
  const ops = instrumentOperations(createOperations(room, stock, identity, config.TRUST_PROXY, { key: warmupKey, active: () => !warmedUp }));
  const app = createApiApp({ ops, logger, entryPasses, internalToken: config.INTERNAL_TOKEN, bodyLimitBytes: config.BODY_LIMIT_BYTES, page: { items: new ItemStore(redis) }, stock: { service: stock } });
  const fastPath = createFastPath({ ops, logger, internalToken: config.INTERNAL_TOKEN, telemetry, claims: true });
  // Request ids, request logs, HTTP metrics, /metrics and /openapi.json around the fast path and the express app.
  const listener = observedListener({ telemetry, app, fastPath, metricsToken: config.METRICS_TOKEN });
  const shedder = new LoadShedder(config.MAX_IN_FLIGHT);
  shedderMetrics(shedder);
  const server = createServer((req, res) => {
    // Not shed during warm-up: the api is not ready yet, so only its own warm-up requests arrive.
    if (warmedUp && !shedder.admit(res)) return;
    listener(req, res);
  });

  const port = await serveWithLifecycle({
    server,
    port: config.API_PORT,
    host: config.API_HOST,
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    isReady: () => warmedUp && isReady(redis),
    readyDetails: () => redisReadiness(redis),
    onShutdown: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  });
  logger.info({ port }, 'api listening; warming up');
  await warmUp(redis, selfUrl(server.address()), logger, config.INTERNAL_TOKEN, warmupKey);
  resetAfterWarmup();
  warmedUp = true;
  logger.info({ port, url: selfUrl(server.address()) }, 'api ready');
}

main().catch((err) => {
  // eslint-disable-next-line no-console
  console.error('api failed to start:', err);
  process.exit(1);
});
