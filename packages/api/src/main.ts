import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import {
  connectRedis,
  createLogger,
  isReady,
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
  const config = loadConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  const redis = await connectRedis(redisTarget(config), 'wq-api', 60_000);
  redis.on('close', () => logger.warn('redis connection lost; answering 503 until it is back'));
  redis.on('ready', () => logger.info('redis ready'));

  await publishAbandonAfterMs(redis, config.ABANDON_AFTER_SECONDS * 1000);
  const secret = await resolveTokenSecret(redis, config.TOKEN_SECRET, TokenCodec.generateSecret);
  const limiter = new RegistrationLimiter(
    redis,
    { points: config.RATE_LIMIT_USER_POINTS, durationSeconds: config.RATE_LIMIT_USER_SECONDS },
    { points: config.RATE_LIMIT_IP_POINTS, durationSeconds: config.RATE_LIMIT_IP_SECONDS },
  );
  const entryPasses = await EntryPassIssuer.create(redis, config.ENTRY_PASS_PRIVATE_JWK);
  if (!config.ENTRY_PASS_PRIVATE_JWK) logger.warn('ENTRY_PASS_PRIVATE_JWK is not set: entry passes are signed with a key generated once and kept in Redis');
  const room = new WaitingRoom(new QueueStore(redis), new TokenCodec(secret), {
    limiter: limiter.enabled ? limiter : undefined,
    entryPasses,
    abandonAfterMs: config.ABANDON_AFTER_SECONDS * 1000,
    verifiedTokens: new VerifiedTokenCache(config.TOKEN_CACHE_SIZE),
  });
  const jwtMode = Boolean(config.AUTH_JWT_SECRET || config.AUTH_JWKS_URL);
  const identity = jwtMode
    ? jwtIdentity({ secret: config.AUTH_JWT_SECRET, jwksUrl: config.AUTH_JWKS_URL, issuer: config.AUTH_JWT_ISSUER, audience: config.AUTH_JWT_AUDIENCE })
    : headerIdentity;
  if (jwtMode) logger.info('identity mode: userId from a verified bearer JWT (sub); the user-id header is ignored');
  const stock = new StockService({
    queue: new QueueStore(redis),
    tokens: new TokenCodec(secret),
    reservations: new ReservationStore(redis),
    claims: new ClaimStore(redis),
    reservationTtlMs: config.RESERVATION_TTL_SECONDS * 1000,
  });
  let warmedUp = false;
  const warmupKey = randomBytes(24).toString('hex');
  startProcessMetrics();
  const telemetry = new RequestTelemetry(logger, config.LOG_REQUESTS);
  const ops = instrumentOperations(createOperations(room, identity, config.TRUST_PROXY, { key: warmupKey, active: () => !warmedUp }));
  const app = createApiApp({ ops, logger, entryPasses, internalToken: config.INTERNAL_TOKEN, bodyLimitBytes: config.BODY_LIMIT_BYTES, page: { items: new ItemStore(redis) }, stock: { service: stock, identity } });
  const fastPath = createFastPath({ ops, logger, internalToken: config.INTERNAL_TOKEN, telemetry, claim: claimOperation(stock, identity) });
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
