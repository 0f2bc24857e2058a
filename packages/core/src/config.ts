import { availableParallelism } from 'node:os';
import { z } from 'zod';
import type { RedisTarget } from './redis';

// The environment is read here and nowhere else: each variable is parsed once, with its default, and converted to
// the unit and shape the code uses (seconds to ms, comma lists to arrays, flags to booleans). The environment's
// names (ENTRY_TTL_SECONDS) meet the code's names (admissionTtlMs) only in the mappings below.

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
/** Whole seconds in the environment, milliseconds in the configuration. */
const seconds = (def: number, min = 0) => int(def, min).transform((s) => s * 1000);
/** A TCP port, 1-65535 (0 would make the OS pick a random one). */
const port = (def: number) => z.coerce.number().int().min(1).max(65_535).default(def);
const optionalString = z
  .string()
  .optional()
  .transform((v) => v?.trim());
/** A comma-separated list; blank entries are dropped. */
const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
/** `1` or `true`: on; anything else or unset: off. */
const flag = z
  .string()
  .optional()
  .transform((v) => v === '1' || v === 'true');

/** Where Redis is. */
const redisEnv = z.object({
  REDIS_URL: optionalString,
  /** Comma-separated host:port of Redis Cluster nodes; wins over REDIS_URL. */
  REDIS_CLUSTER_NODES: list,
  /**
   * How long a Redis command may go unanswered on an open connection before it fails (503), ms: a Redis that stalls
   * without closing the connection (frozen, a partition without a reset) is then an outage, not a hang.
   */
  REDIS_COMMAND_TIMEOUT_MS: int(5000, 100),
});

/** The variables both services read. Units are in the names (_MS, _SECONDS). */
const baseEnv = redisEnv.extend({
  /**
   * Bearer token required on `GET /metrics` of both servers when set (Prometheus: `authorization: {credentials}`);
   * unset: open, for a scraper on a private network.
   */
  METRICS_TOKEN: optionalString,
  /** 1: development mode (`npm start`): the secrets may be unset (the processes say so); see {@link REQUIRED_SECRETS}. */
  DEV_MODE: flag,
  /**
   * Durability option: after every state-changing script, `WAIT DURABILITY_REPLICAS
   * DURABILITY_TIMEOUT_MS` on the same node; fewer acknowledgements answer 503. 0: off. Needs a timeout > 0.
   */
  DURABILITY_REPLICAS: int(0),
  DURABILITY_TIMEOUT_MS: int(0),
  /** How long a write's Idempotency-Key record (its key and first answer) is kept, seconds. */
  IDEMPOTENCY_TTL_SECONDS: seconds(86_400, 1),
  /** Most Idempotency-Key records per item (and for the global N); beyond it the oldest go first. */
  IDEMPOTENCY_MAX_KEYS: int(100_000, 1),
  /**
   * Abandonment: a waiting user who has not polled for this many seconds is dropped before admission (the api
   * records polls, the scheduler drops). The api publishes its value to Redis and the scheduler follows it (see
   * abandonment.ts); a scheduler's own value counts only until an api has published one. 0: off (no poll tracking).
   */
  ABANDON_AFTER_SECONDS: seconds(0),
  /**
   * The longest `pollAfterMs` the api gives a waiting shopper, seconds (poll-policy.ts: half the estimated wait,
   * within 1 s and this). Longer spreads the polls of a long queue: a million waiting shoppers make about
   * 1,000,000 / POLL_MAX_SECONDS polls per second from the back of the queue alone.
   */
  POLL_MAX_SECONDS: seconds(30, 1),
  /** Maximum JSON body size accepted by the servers, bytes. */
  BODY_LIMIT_BYTES: int(16 * 1024, 1),
  /** Grace period for in-flight requests on SIGTERM, milliseconds. */
  SHUTDOWN_TIMEOUT_MS: int(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Set to 1 to log one line per request (off by default: the hot path stays cheap under a spike). */
  LOG_REQUESTS: flag,
});

/** The api's own variables. */
const apiEnv = baseEnv.extend({
  API_HOST: z.string().default('0.0.0.0'),
  API_PORT: port(8080),
  /** Bearer token required on /internal/v1. */
  INTERNAL_TOKEN: optionalString,
  /** Lifetime of a PENDING reservation, seconds: unconfirmed after it, the scheduler expires it and restores the stock. */
  RESERVATION_TTL_SECONDS: seconds(120, 1),
  /**
   * Verified tokens an api process remembers per generation (two generations), so that repeated polls of one place
   * skip the HMAC check (see VerifiedTokenCache; about 250 B per entry). 0: off.
   */
  TOKEN_CACHE_SIZE: int(10_000),
  /** HMAC secret of token ids (in DEV_MODE, when unset, one is generated once and kept in Redis, wq:token-secret). */
  TOKEN_SECRET: optionalString,
  /** Earlier TOKEN_SECRETs (comma-separated), still accepted when checking tokens while a rotation is under way. */
  TOKEN_SECRET_PREVIOUS: list,
  /**
   * Group commit of registrations: how long a batch of one item's registrations waits for more after its first,
   * milliseconds, 0..2 (fractions allowed). 0: the registrations of one event-loop turn only (no timer wait).
   */
  GROUP_COMMIT_WINDOW_MS: z.coerce.number().min(0).max(2).default(0),
  /** `0` or `false`: no group commit (one script call per registration); unset or anything else: on. */
  GROUP_COMMIT: z
    .string()
    .optional()
    .transform((v) => v !== '0' && v !== 'false'),
  /**
   * `0` or `false`: every poll reads Redis; unset or anything else: polls the scheduler's latest snapshot can rank
   * exactly are answered from memory (snapshot-cache.ts).
   */
  POLL_FROM_MEMORY: z
    .string()
    .optional()
    .transform((v) => v !== '0' && v !== 'false'),
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
  /** Private EC P-256 JWK (JSON) that signs entry passes (in DEV_MODE, when unset, one is generated once and kept in Redis). */
  ENTRY_PASS_PRIVATE_JWK: optionalString,
  /**
   * Public JWKs of earlier signing keys, still published at /.well-known/jwks.json so that passes signed before a
   * rotation keep verifying: a JWK Set `{"keys":[...]}` or a JSON array of JWKs.
   */
  ENTRY_PASS_PUBLIC_JWKS: optionalString,
  /** Requests an api process works on at once; beyond it, 429 with Retry-After (load shedding). 0: off. */
  MAX_IN_FLIGHT: int(1000),
  /**
   * api processes serving one port as node:cluster workers (they share nothing but Redis); default the number of
   * cores (`os.availableParallelism()`). 1: one process, no cluster primary.
   */
  API_WORKERS: z.coerce
    .number()
    .int()
    .min(1)
    .default(() => availableParallelism()),
});

/** The scheduler's own variables. */
const schedulerEnv = baseEnv.extend({
  ADMIN_HOST: z.string().default('127.0.0.1'),
  ADMIN_PORT: port(8081),
  /** Bearer token required on the admin API. */
  ADMIN_TOKEN: optionalString,
  /** node-cron expression of the admission tick (six fields: seconds first). */
  SCHEDULER_CRON: z.string().default('* * * * * *'),
  /** Initial global N, written to Redis only when Redis holds none yet. */
  TOKEN_COUNT_TO_MOVE: int(10),
  /** Lifetime of an admission, seconds. */
  ENTRY_TTL_SECONDS: seconds(300, 1),
  /** How long settled (confirmed, cancelled, expired) reservations stay readable in Redis, seconds. */
  RESERVATION_RETENTION_SECONDS: seconds(86_400, 1),
  KAFKA_BROKERS: list,
  /** Topic the outbox relay publishes to. */
  KAFKA_EVENTS_TOPIC: z.string().default('waiting-queue-events'),
  KAFKA_LEDGER_GROUP_ID: z.string().default('waiting-queue-ledger'),
  /** How often the outbox relay looks for new events, milliseconds. */
  OUTBOX_RELAY_INTERVAL_MS: int(500, 10),
  /** PostgreSQL of the ledger (with KAFKA_BROKERS): e.g. postgres://user@127.0.0.1:5432/waiting_queue. */
  DATABASE_URL: optionalString,
  KAFKA_ITEM_TOPIC: z.string().default('item-changed-event'),
  KAFKA_GROUP_ID: z.string().default('waiting-queue-item-sync'),
});

/**
 * Every variable of the product. Each service parses all of them, so that an invalid value stops whichever process
 * starts first (the services usually share one environment), and maps only its own into its configuration.
 */
const productEnv = apiEnv.merge(schedulerEnv);

/** The configuration both services share. */
export interface BaseConfig {
  devMode: boolean;
  /** Where Redis is: connectRedis's target. */
  redis: RedisTarget;
  /** When set, `/metrics` requires this bearer token. */
  metricsToken?: string;
  /** WAIT after every state-changing script; 0 replicas: off. */
  durability: { replicas: number; timeoutMs: number };
  /** The Idempotency-Key limits, for the stores' constructors. */
  idempotency: { ttlMs: number; maxKeys: number };
  /** Abandonment threshold, milliseconds; 0: off. */
  abandonAfterMs: number;
  bodyLimitBytes: number;
  /** Grace period for in-flight requests on SIGTERM, milliseconds. */
  shutdownTimeoutMs: number;
  logLevel: z.infer<typeof baseEnv>['LOG_LEVEL'];
  /** One log line per request. */
  logRequests: boolean;
}

/** A registration rate limit: `points` registrations per `durationSeconds` (rate-limiter-flexible's unit); 0 points: off. */
export interface RateLimitConfig {
  points: number;
  durationSeconds: number;
}

/** The api's configuration. */
export interface ApiConfig extends BaseConfig {
  host: string;
  port: number;
  /** Bearer token of /internal/v1; unset only in DEV_MODE (then the internal API is open). */
  internalToken?: string;
  /** Lifetime of a PENDING reservation, milliseconds. */
  reservationTtlMs: number;
  tokenCacheSize: number;
  /** Token HMAC secret; unset only in DEV_MODE (then kept in Redis). */
  tokenSecret?: string;
  /** Earlier token secrets, still accepted while a rotation is under way. */
  previousTokenSecrets: string[];
  rateLimit: { user: RateLimitConfig; ip: RateLimitConfig };
  /** Trusted proxy hops (0: the socket's peer address is the client IP). */
  trustProxy: number;
  /** JWT identity mode (AUTH_JWT_SECRET or AUTH_JWKS_URL set); undefined: the `user-id` header names the user. */
  jwt?: { secret?: string; jwksUrl?: string; issuer?: string; audience?: string; laneClaim: string };
  /** Entry-pass signing key (JWK JSON); unset only in DEV_MODE (then kept in Redis). */
  entryPassPrivateJwk?: string;
  /** Public JWKs of earlier signing keys (JSON). */
  entryPassPublicJwks?: string;
  /** Requests worked on at once before load shedding, per api process; 0: off. */
  maxInFlight: number;
  /** api processes (node:cluster workers on one port); 1: one process, no cluster primary. */
  workers: number;
  /** Group commit of registrations: the batch window, milliseconds (0..2); false: one script call per registration. */
  groupCommit: { windowMs: number } | false;
  /** Polls the latest snapshot ranks exactly are answered from memory; false: every poll reads Redis. */
  pollFromMemory: boolean;
  /** The longest `pollAfterMs` given to a waiting shopper, milliseconds (POLL_MAX_SECONDS). */
  pollMaxMs: number;
}

/** The scheduler's configuration. */
export interface SchedulerConfig extends BaseConfig {
  host: string;
  port: number;
  /** Bearer token of the admin API; unset only in DEV_MODE (then the admin API is open). */
  adminToken?: string;
  /** node-cron expression of the admission tick (six fields). */
  cron: string;
  /** Global N until an operator stores one in Redis. */
  tokenCountToMove: number;
  /** Lifetime of an admission, milliseconds. */
  admissionTtlMs: number;
  /** Retention of settled reservations, milliseconds. */
  reservationRetentionMs: number;
  /** Kafka: item sync and outbox relay run only with brokers; the ledger also needs `databaseUrl`. */
  kafka: { brokers: string[]; eventsTopic: string; ledgerGroupId: string; itemTopic: string; itemGroupId: string };
  /** How often the outbox relay looks for new events, milliseconds. */
  outboxRelayIntervalMs: number;
  databaseUrl?: string;
}

function toBase(e: z.infer<typeof baseEnv>): BaseConfig {
  return {
    devMode: e.DEV_MODE,
    redis: { url: e.REDIS_URL, clusterNodes: e.REDIS_CLUSTER_NODES, commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS },
    metricsToken: e.METRICS_TOKEN,
    durability: { replicas: e.DURABILITY_REPLICAS, timeoutMs: e.DURABILITY_TIMEOUT_MS },
    idempotency: { ttlMs: e.IDEMPOTENCY_TTL_SECONDS, maxKeys: e.IDEMPOTENCY_MAX_KEYS },
    abandonAfterMs: e.ABANDON_AFTER_SECONDS,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    logRequests: e.LOG_REQUESTS,
  };
}

/** The service a configuration is loaded for: each reads its own variables and needs its own secrets outside DEV_MODE. */
export type ConfigRole = 'api' | 'scheduler';

/** Variables a process refuses to start without, outside DEV_MODE, and why (the start-up error says it). */
const REQUIRED_SECRETS: Record<ConfigRole, Array<[string, string]>> = {
  api: [
    ['INTERNAL_TOKEN', 'the internal API (consume, reservations) would be open to anyone who reaches the api'],
    ['TOKEN_SECRET', 'a secret kept only in Redis is lost with it, and api processes would then disagree on tokens'],
    [
      'ENTRY_PASS_PRIVATE_JWK',
      'a key kept only in Redis is lost with it, and api processes would then publish different JWKS',
    ],
  ],
  scheduler: [['ADMIN_TOKEN', 'the admin API would be open']],
};

/** Rules between variables of one service, beyond the required secrets. */
const CROSS_FIELD_RULES: Record<ConfigRole, Array<{ when: string; requires: string; why: string }>> = {
  api: [
    {
      when: 'AUTH_JWKS_URL',
      requires: 'AUTH_JWT_AUDIENCE',
      why: 'else a token the provider issued for another service would be accepted',
    },
  ],
  scheduler: [],
};

/**
 * Wraps a service's variables: a blank value (empty or whitespace) is dropped first, so it takes the default (or
 * is missing), never 0; then the service's cross-field rules are checked on the raw values, so that one error
 * lists them along with any invalid variable.
 */
function serviceEnv<T extends z.ZodTypeAny>(role: ConfigRole, fields: T) {
  return z.preprocess((raw, ctx) => {
    const present: Record<string, string> = {};
    for (const [k, v] of Object.entries((raw ?? {}) as Record<string, string | undefined>)) {
      if (v !== undefined && v.trim() !== '') present[k] = v;
    }
    const devMode = flag.parse(present.DEV_MODE);
    if (!devMode) {
      for (const [name, why] of REQUIRED_SECRETS[role]) {
        if (present[name] === undefined)
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: [name],
            message: `required unless DEV_MODE=1 (without it ${why})`,
          });
      }
    }
    for (const r of CROSS_FIELD_RULES[role]) {
      if (present[r.when] !== undefined && present[r.requires] === undefined) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [r.requires],
          message: `required with ${r.when} (${r.why})`,
        });
      }
    }
    return present;
  }, fields);
}

/** The api's environment parsed into an {@link ApiConfig}. */
export const apiConfigSchema = serviceEnv(
  'api',
  productEnv.transform((e): ApiConfig => ({
    ...toBase(e),
    host: e.API_HOST,
    port: e.API_PORT,
    internalToken: e.INTERNAL_TOKEN,
    reservationTtlMs: e.RESERVATION_TTL_SECONDS,
    tokenCacheSize: e.TOKEN_CACHE_SIZE,
    tokenSecret: e.TOKEN_SECRET,
    previousTokenSecrets: e.TOKEN_SECRET_PREVIOUS,
    rateLimit: {
      user: { points: e.RATE_LIMIT_USER_POINTS, durationSeconds: e.RATE_LIMIT_USER_SECONDS },
      ip: { points: e.RATE_LIMIT_IP_POINTS, durationSeconds: e.RATE_LIMIT_IP_SECONDS },
    },
    trustProxy: e.TRUST_PROXY,
    jwt:
      e.AUTH_JWT_SECRET || e.AUTH_JWKS_URL
        ? {
            secret: e.AUTH_JWT_SECRET,
            jwksUrl: e.AUTH_JWKS_URL,
            issuer: e.AUTH_JWT_ISSUER,
            audience: e.AUTH_JWT_AUDIENCE,
            laneClaim: e.AUTH_JWT_LANE_CLAIM,
          }
        : undefined,
    entryPassPrivateJwk: e.ENTRY_PASS_PRIVATE_JWK,
    entryPassPublicJwks: e.ENTRY_PASS_PUBLIC_JWKS,
    maxInFlight: e.MAX_IN_FLIGHT,
    workers: e.API_WORKERS,
    groupCommit: e.GROUP_COMMIT ? { windowMs: e.GROUP_COMMIT_WINDOW_MS } : false,
    pollFromMemory: e.POLL_FROM_MEMORY,
    pollMaxMs: e.POLL_MAX_SECONDS,
  })),
);

/** The scheduler's environment parsed into a {@link SchedulerConfig}. */
export const schedulerConfigSchema = serviceEnv(
  'scheduler',
  productEnv.transform((e): SchedulerConfig => ({
    ...toBase(e),
    host: e.ADMIN_HOST,
    port: e.ADMIN_PORT,
    adminToken: e.ADMIN_TOKEN,
    cron: e.SCHEDULER_CRON,
    tokenCountToMove: e.TOKEN_COUNT_TO_MOVE,
    admissionTtlMs: e.ENTRY_TTL_SECONDS,
    reservationRetentionMs: e.RESERVATION_RETENTION_SECONDS,
    kafka: {
      brokers: e.KAFKA_BROKERS,
      eventsTopic: e.KAFKA_EVENTS_TOPIC,
      ledgerGroupId: e.KAFKA_LEDGER_GROUP_ID,
      itemTopic: e.KAFKA_ITEM_TOPIC,
      itemGroupId: e.KAFKA_GROUP_ID,
    },
    outboxRelayIntervalMs: e.OUTBOX_RELAY_INTERVAL_MS,
    databaseUrl: e.DATABASE_URL,
  })),
);

/** The configuration type of each service. */
export interface ConfigOf {
  api: ApiConfig;
  scheduler: SchedulerConfig;
}

const SCHEMAS = { api: apiConfigSchema, scheduler: schedulerConfigSchema };

/**
 * Parses the configuration of service `role` from `env` (usually `process.env`). A blank value (empty or
 * whitespace) counts as unset. Outside DEV_MODE the secrets that service needs are required, and the api's
 * AUTH_JWKS_URL requires AUTH_JWT_AUDIENCE.
 * @throws Error whose message names every invalid or missing variable, one per line.
 */
export function loadConfig<R extends ConfigRole>(env: NodeJS.ProcessEnv, role: R): ConfigOf[R] {
  const parsed = SCHEMAS[role].safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data as ConfigOf[R];
}

/**
 * The Redis target named by REDIS_URL / REDIS_CLUSTER_NODES of an environment (for tools that start no service).
 * @throws ZodError on an invalid value (a REDIS_COMMAND_TIMEOUT_MS below 100 or not an integer).
 */
export function redisTarget(env: NodeJS.ProcessEnv): RedisTarget {
  const e = redisEnv.parse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== '')),
  );
  return { url: e.REDIS_URL, clusterNodes: e.REDIS_CLUSTER_NODES, commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS };
}
