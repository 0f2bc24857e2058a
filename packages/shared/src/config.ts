import { z } from 'zod';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
/** A TCP port, 1-65535 (0 would make the OS pick a random one). */
const port = (def: number) => z.coerce.number().int().min(1).max(65_535).default(def);
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
  API_PORT: port(8080),
  ADMIN_HOST: z.string().default('127.0.0.1'),
  ADMIN_PORT: port(8081),
  /** Bearer token required on /internal/v1; the api refuses to start without one unless DEV_MODE=1. */
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
  /**
   * Durability option: after every state-changing script, `WAIT DURABILITY_REPLICAS
   * DURABILITY_TIMEOUT_MS` on the same node; fewer acknowledgements answer 503. 0: off. Needs a timeout > 0.
   */
  DURABILITY_REPLICAS: int(0),
  DURABILITY_TIMEOUT_MS: int(0),
  /** Lifetime of a PENDING reservation, seconds: unconfirmed after it, the scheduler expires it and restores the stock. */
  RESERVATION_TTL_SECONDS: int(120, 1),
  /** How long a write's Idempotency-Key record (its key and first answer) is kept, seconds. */
  IDEMPOTENCY_TTL_SECONDS: int(86_400, 1),
  /** Most Idempotency-Key records per item (and for the global N); beyond it the oldest go first. */
  IDEMPOTENCY_MAX_KEYS: int(100_000, 1),
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
  /**
   * HMAC secret of token ids; required by the api unless DEV_MODE=1 (then, when unset, one is generated once and
   * kept in Redis, wq:token-secret).
   */
  TOKEN_SECRET: optionalString,
  /** Earlier TOKEN_SECRETs (comma-separated), still accepted when checking tokens while a rotation is under way. */
  TOKEN_SECRET_PREVIOUS: optionalString,
  /** Registrations per user per RATE_LIMIT_USER_SECONDS; 0: no per-user limit (default: registration is idempotent). */
  RATE_LIMIT_USER_POINTS: int(0),
  RATE_LIMIT_USER_SECONDS: int(10, 1),
  /** Registrations per client IP per RATE_LIMIT_IP_SECONDS; 0: off (turn on where client IPs are visible). */
  RATE_LIMIT_IP_POINTS: int(0),
  RATE_LIMIT_IP_SECONDS: int(1, 1),
  /**
   * Trusted proxy hops in front of the api, as express's numeric `trust proxy`: the client IP is the n-th
   * `X-Forwarded-For` entry from the right (the entries to its right were appended by our own proxies; those to its
   * left were written by the client). `true` means 1; unset, `false` or 0: the socket's peer address.
   */
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === 'false' ? '0' : v === 'true' ? '1' : v))
    .pipe(z.coerce.number().int().min(0).max(32)),
  /** Identity mode: the userId is the `sub` of a bearer JWT verified with this HS256 secret… */
  AUTH_JWT_SECRET: optionalString,
  /** …or with the keys at this JWKS URL, instead of the `user-id` header. */
  AUTH_JWKS_URL: optionalString,
  AUTH_JWT_ISSUER: optionalString,
  /** Required with AUTH_JWKS_URL: an identity provider's keys also sign tokens meant for other services. */
  AUTH_JWT_AUDIENCE: optionalString,
  /**
   * JWT mode: the verified claim whose value is the shopper's priority lane (the `user-tier` header is ignored in
   * JWT mode); absent claim: the item's last lane.
   */
  AUTH_JWT_LANE_CLAIM: z.string().default('tier'),
  /**
   * Private EC P-256 JWK (JSON) that signs entry passes; required by the api unless DEV_MODE=1 (then, when unset,
   * one is generated once and kept in Redis).
   */
  ENTRY_PASS_PRIVATE_JWK: optionalString,
  /**
   * Public JWKs of earlier signing keys, still published at /.well-known/jwks.json so that passes signed before a
   * rotation keep verifying: a JWK Set `{"keys":[...]}` or a JSON array of JWKs.
   */
  ENTRY_PASS_PUBLIC_JWKS: optionalString,
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

/** The process a configuration is loaded for: each needs its own secrets outside DEV_MODE. */
export type ConfigRole = 'api' | 'scheduler';

/** Variables a process refuses to start without, outside DEV_MODE, and why (the start-up error says it). */
const REQUIRED_SECRETS: Record<ConfigRole, Array<[string, string]>> = {
  api: [
    ['INTERNAL_TOKEN', 'the internal API (consume, reservations) would be open to anyone who reaches the api'],
    ['TOKEN_SECRET', 'a secret kept only in Redis is lost with it, and api processes would then disagree on tokens'],
    ['ENTRY_PASS_PRIVATE_JWK', 'a key kept only in Redis is lost with it, and api processes would then publish different JWKS'],
  ],
  scheduler: [['ADMIN_TOKEN', 'the admin API would be open']],
};

/**
 * Parses the configuration from `env` (default `process.env`). A blank value (empty or whitespace) counts as unset,
 * so it takes the default (or is missing), never 0. With `role`, the secrets that process needs are required unless
 * DEV_MODE=1, and AUTH_JWKS_URL requires AUTH_JWT_AUDIENCE.
 * @throws Error whose message names every invalid or missing variable, one per line.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, role?: ConfigRole): Config {
  const present: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v.trim() !== '') present[k] = v;
  const parsed = configSchema.safeParse(present);
  const lines = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  if (role !== undefined) {
    // Read from the raw (non-blank) values, so that one error lists these along with any invalid variable.
    const devMode = present.DEV_MODE === '1' || present.DEV_MODE === 'true';
    if (!devMode) {
      for (const [name, why] of REQUIRED_SECRETS[role]) {
        if (present[name] === undefined) lines.push(`${name}: required unless DEV_MODE=1 (without it ${why})`);
      }
    }
    if (role === 'api' && present.AUTH_JWKS_URL !== undefined && present.AUTH_JWT_AUDIENCE === undefined) {
      lines.push('AUTH_JWT_AUDIENCE: required with AUTH_JWKS_URL (else a token the provider issued for another service would be accepted)');
    }
  }
  if (lines.length > 0) throw new Error(`invalid configuration:\n  ${lines.join('\n  ')}`);
  return (parsed as { data: Config }).data;
}

/** The Idempotency-Key limits of a configuration, for the stores' constructors. */
export function idempotencyLimits(config: Pick<Config, 'IDEMPOTENCY_TTL_SECONDS' | 'IDEMPOTENCY_MAX_KEYS'>): { ttlMs: number; maxKeys: number } {
  return { ttlMs: config.IDEMPOTENCY_TTL_SECONDS * 1000, maxKeys: config.IDEMPOTENCY_MAX_KEYS };
}

/** The Redis target of a configuration, for {@link connectRedis}. */
export function redisTarget(config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>) {
  return {
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES?.split(',').filter(Boolean),
  };
}
