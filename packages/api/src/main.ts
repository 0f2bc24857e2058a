import { publishAbandonAfterMs } from '@waiting-queue/core/abandonment';
import { ClaimStore } from '@waiting-queue/core/claim-store';
import { TokenCodec } from '@waiting-queue/core/ids';
import { ItemStore } from '@waiting-queue/core/item-store';
import { PollRecorder } from '@waiting-queue/core/poll-recorder';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { ReservationStore } from '@waiting-queue/core/reservation-store';
import { SnapshotCache } from '@waiting-queue/core/snapshot-cache';
import { VerifiedTokenCache } from '@waiting-queue/core/token-cache';
import { resolveTokenSecret } from '@waiting-queue/core/token-secret';
import { bootService } from '@waiting-queue/http/boot';
import { createApiApp } from './app';
import { EntryPassIssuer } from './entry-pass';
import { createFastPath } from './fast-path';
import { headerIdentity, jwtIdentity } from './identity';
import { LoadShedder } from './load-shedder';
import { instrumentOperations, polls, shedderMetrics } from './metrics';
import { createOperations } from './operations';
import { RegistrationLimiter } from './rate-limit';
import { StockService } from './stock';
import { WaitingRoom } from './waiting-room';
import { selfUrl, WarmUp } from './warmup';

// The api server (public + internal API); see docs for the variables. Ready once warmed up.
void bootService({
  role: 'api',
  whileRedisIsLost: 'answering 503',
  workers: (config) => config.workers,
  build: async ({ config, logger, redis, telemetry }) => {
    await publishAbandonAfterMs(redis, config.abandonAfterMs);
    // Outside DEV_MODE loadConfig requires TOKEN_SECRET and ENTRY_PASS_PRIVATE_JWK: the Redis fallbacks are for development.
    const secret = await resolveTokenSecret(redis, config.tokenSecret, () => TokenCodec.generateSecret());
    const limiter = new RegistrationLimiter({ redis, user: config.rateLimit.user, ip: config.rateLimit.ip });
    const entryPasses = await EntryPassIssuer.create({
      redis,
      configured: config.entryPassPrivateJwk,
      olderPublic: config.entryPassPublicJwks,
    });
    if (!config.entryPassPrivateJwk)
      logger.warn(
        'DEV_MODE: ENTRY_PASS_PRIVATE_JWK is not set: entry passes are signed with a key generated once and kept in Redis',
      );
    if (!config.tokenSecret)
      logger.warn('DEV_MODE: TOKEN_SECRET is not set: tokens use a secret generated once and kept in Redis');
    if (!config.internalToken)
      logger.warn(
        'DEV_MODE: INTERNAL_TOKEN is not set: the internal API runs WITHOUT authentication; never do this in production',
      );
    const limits = config.idempotency;
    const snapshots = config.pollFromMemory ? new SnapshotCache({ redis, logger }) : undefined;
    const pollRecorder = snapshots && config.abandonAfterMs > 0 ? new PollRecorder({ redis, logger }) : undefined;
    const room = new WaitingRoom({
      queue: new QueueStore(redis, limits),
      tokens: new TokenCodec(secret, config.previousTokenSecrets),
      limiter: limiter.enabled ? limiter : undefined,
      entryPasses,
      abandonAfterMs: config.abandonAfterMs,
      verifiedTokens: new VerifiedTokenCache(config.tokenCacheSize),
      groupCommit: config.groupCommit,
      snapshots,
      pollRecorder,
      pollMaxMs: config.pollMaxMs,
      onPoll: (source) => polls.inc({ source }),
    });
    const identity = config.jwt ? jwtIdentity(config.jwt) : headerIdentity;
    if (config.jwt) {
      logger.info(
        { laneClaim: config.jwt.laneClaim },
        'identity mode: userId and lane from a verified bearer JWT (sub, lane claim); the user-id and user-tier headers are ignored',
      );
    }
    const stock = new StockService({
      queue: new QueueStore(redis, limits),
      tokens: new TokenCodec(secret, config.previousTokenSecrets),
      reservations: new ReservationStore(redis, limits),
      claims: new ClaimStore(redis, limits),
      reservationTtlMs: config.reservationTtlMs,
    });
    const warmup = new WarmUp();
    const ops = instrumentOperations(
      createOperations({ room, stock, identity, trustProxy: config.trustProxy, warmup }),
    );
    const shedder = new LoadShedder(config.maxInFlight);
    shedderMetrics(shedder);
    return {
      app: createApiApp({
        ops,
        logger,
        entryPasses,
        internalToken: config.internalToken,
        bodyLimitBytes: config.bodyLimitBytes,
        page: { items: new ItemStore(redis) },
        stock: { service: stock },
      }),
      fastPath: createFastPath({ ops, logger, internalToken: config.internalToken, telemetry, claims: true }),
      // Not shed during warm-up: the api is not ready yet, so only its own warm-up requests arrive.
      gate: (next) => (req, res) => {
        if (!warmup.active && !shedder.accept(res)) return;
        next(req, res);
      },
      isReady: () => !warmup.active,
      // After in-flight requests, before Redis closes: the last polls recorded are written, the subscriber stops.
      onShutdown: async () => {
        await pollRecorder?.close();
        await snapshots?.close();
      },
      started: async (server, port, baseUrl) => {
        logger.info({ port }, 'api listening; warming up');
        await warmup.run({ redis, server, baseUrl, logger, internalToken: config.internalToken });
        logger.info({ port, url: selfUrl(server.address()) }, 'api ready');
      },
    };
  },
});
