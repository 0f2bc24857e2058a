import { z } from 'zod';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** Every environment variable the product reads, with its default. Units are in the names (_MS, _SECONDS). */
export const configSchema = z.object({
  REDIS_URL: optionalString,
  /** Comma-separated host:port of Redis Cluster nodes; wins over REDIS_URL. */
  REDIS_CLUSTER_NODES: optionalString,
  API_HOST: z.string().default('0.0.0.0'),
  API_PORT: int(8080),
  ADMIN_HOST: z.string().default('127.0.0.1'),
  ADMIN_PORT: int(8081),
  /** Bearer token required on /internal/v1 when set. */
  INTERNAL_TOKEN: optionalString,
  /**
   * Bearer token required on `GET /metrics` of both servers when set (Prometheus: `authorization: {credentials}`);
   * unset: open, for a scraper on a private network.
   */
  METRICS_TOKEN: optionalString,
  /** Bearer token required on the admin API; the scheduler refuses to start without one unless DEV_MODE=1. */
  ADMIN_TOKEN: optionalString,
  /** 1: development mode (`npm start`): the admin API may run without ADMIN_TOKEN, and says so. */
  DEV_MODE: z
    .string()
    .optional()
    .transform((v) => v === '1' || v === 'true'),
  /** node-cron expression of the admission tick (six fields: seconds first). */
  SCHEDULER_CRON: z.string().default('* * * * * *'),
  /** Initial global N, written to Redis only when Redis holds none yet. */
  TOKEN_COUNT_TO_MOVE: int(10),
  ENTRY_TTL_SECONDS: int(300, 1),
  /** Lifetime of a PENDING reservation, seconds: unconfirmed after it, the scheduler expires it and restores the stock. */
  RESERVATION_TTL_SECONDS: int(120, 1),
  /** How long settled (confirmed, cancelled, expired) reservations stay readable in Redis, seconds. */
  RESERVATION_RETENTION_SECONDS: int(86_400, 1),
  /**
   * Abandonment: a waiting user who has not polled for this many seconds is dropped before admission (the api
   * records polls, the scheduler drops). The api publishes its value to Redis and the scheduler follows it (see
   * abandonment.ts); a scheduler's own value counts only until an api has published one. 0: off (no poll tracking).
   */
  ABANDON_AFTER_SECONDS: int(0),
  /**
   * Verified tokens an api process remembers per generation (two generations), so that repeated polls of one place
   * skip the HMAC check (see VerifiedTokenCache; about 250 B per entry). 0: off.
   */
  TOKEN_CACHE_SIZE: int(10_000),
  /** HMAC secret of token ids; when unset, one is generated once and kept in Redis (wq:token-secret). */
  TOKEN_SECRET: optionalString,
  /** Registrations per user per RATE_LIMIT_USER_SECONDS; 0: no per-user limit (default: registration is idempotent). */
  RATE_LIMIT_USER_POINTS: int(0),
  RATE_LIMIT_USER_SECONDS: int(10, 1),
  /** Registrations per client IP per RATE_LIMIT_IP_SECONDS; 0: off (turn on where client IPs are visible). */
  RATE_LIMIT_IP_POINTS: int(0),
  RATE_LIMIT_IP_SECONDS: int(1, 1),
  /** 1: take the client IP from X-Forwarded-For (behind a trusted proxy). */
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((v) => v === '1' || v === 'true'),
  /** Identity mode: the userId is the `sub` of a bearer JWT verified with this HS256 secret… */
  AUTH_JWT_SECRET: optionalString,
  /** …or with the keys at this JWKS URL, instead of the `user-id` header. */
  AUTH_JWKS_URL: optionalString,
  AUTH_JWT_ISSUER: optionalString,
  AUTH_JWT_AUDIENCE: optionalString,
  /** Private EC P-256 JWK (JSON) that signs entry passes; when unset, one is generated once and kept in Redis. */
  ENTRY_PASS_PRIVATE_JWK: optionalString,
  KAFKA_BROKERS: optionalString,
  /** Topic the outbox relay publishes to. */
  KAFKA_EVENTS_TOPIC: z.string().default('waiting-queue-events'),
  KAFKA_LEDGER_GROUP_ID: z.string().default('waiting-queue-ledger'),
  /** How often the outbox relay looks for new events, milliseconds. */
  OUTBOX_RELAY_INTERVAL_MS: int(500, 10),
  /** PostgreSQL of the ledger (with KAFKA_BROKERS): e.g. postgres://user@127.0.0.1:5432/waiting_queue. */
  DATABASE_URL: optionalString,
  KAFKA_ITEM_TOPIC: z.string().default('item-changed-event'),
  KAFKA_GROUP_ID: z.string().default('waiting-queue-item-sync'),
  /** Requests an api process works on at once; beyond it, 429 with Retry-After (load shedding). 0: off. */
  MAX_IN_FLIGHT: int(1000),
  /** Maximum JSON body size accepted by the servers, bytes. */
  BODY_LIMIT_BYTES: int(16 * 1024, 1),
  /** Grace period for in-flight requests on SIGTERM, milliseconds. */
  SHUTDOWN_TIMEOUT_MS: int(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Set to 1 to log one line per request (off by default: the hot path stays cheap under a spike). */
  LOG_REQUESTS: z
    .string()
    .optional()
    .transform((v) => v === '1' || v === 'true'),
});

export type Config = z.infer<typeof configSchema>;

/**
 * Parses the configuration from `env` (default `process.env`).
 * @throws Error listing every invalid variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}

/** The Redis target of a configuration, for {@link connectRedis}. */
export function redisTarget(config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>) {
  return {
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES?.split(',').filter(Boolean),
  };
}
