import { extendZodWithOpenApi, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ErrorCodes, type ErrorCode } from '@waiting-queue/core/errors';
import { idSchema, RESERVATION_ID_PATTERN, TOKEN_PATTERN } from '@waiting-queue/core/ids';
import { LANE_PATTERN, MAX_TOKEN_COUNT_TO_MOVE, waitingItemInputSchema } from '@waiting-queue/core/item-store';
import { reservationInputSchema } from '@waiting-queue/core/reservation-store';

extendZodWithOpenApi(z);

/**
 * The wire schemas declared once, as zod schemas: the request inputs (bodies and queries) the handlers parse, and
 * the response views they answer. The route tables (route-tables.ts) name them per route; their TypeScript types
 * are `z.infer` of them, and their OpenAPI component schemas are generated from them (zod-to-openapi) into the
 * document that openapi.ts serves. Every object is strict, so test/openapi.test.ts catches a field the code sends
 * and the schema lacks, and a handler refuses a field it does not know.
 */

/** Component `Id`: a userId or itemId (ids.ts ID_PATTERN). */
export const idComponent = idSchema.openapi('Id', { description: 'userId or itemId.' });

/** Component `WaitingQueueToken`: `<userId>-<itemId>-<uuid v4>` (ids.ts TOKEN_PATTERN). */
export const waitingQueueTokenComponent = z
  .string()
  .regex(TOKEN_PATTERN)
  .openapi('WaitingQueueToken', { description: '`<userId>-<itemId>-<uuid v4>`.' });

/** An ES256 JWT in compact form (three base64url parts). */
const ENTRY_PASS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * The request parameters the route tables name (path ids and headers), each registered once under its name in the
 * document's `components.parameters`. A route lists them in its `params` (path) and `headers`.
 */
export const parameterRegistry = new OpenAPIRegistry();

/** Path parameter `itemId`. */
export const itemIdParam = parameterRegistry.registerParameter(
  'itemId',
  idSchema.openapi({ param: { name: 'itemId', in: 'path' } }),
);
/** Path parameter `waitingQueueToken`. */
export const waitingQueueTokenParam = parameterRegistry.registerParameter(
  'waitingQueueToken',
  z
    .string()
    .regex(TOKEN_PATTERN)
    .openapi({ param: { name: 'waitingQueueToken', in: 'path' } }),
);
/** Path parameter `reservationId`, `<itemId>.<n>`. */
export const reservationIdParam = parameterRegistry.registerParameter(
  'reservationId',
  z
    .string()
    .regex(RESERVATION_ID_PATTERN)
    .openapi({ param: { name: 'reservationId', in: 'path', description: '`<itemId>.<n>`.' } }),
);
/** Header `user-id`: the shopper, set by the trusted gateway. */
export const userIdHeader = parameterRegistry.registerParameter(
  'userId',
  idSchema.optional().openapi({
    param: {
      name: 'user-id',
      in: 'header',
      description: "The shopper's id, set by the trusted gateway. Required in header identity mode (the default).",
    },
  }),
);
/** Header `user-tier`: the shopper's lane, set or stripped by the trusted gateway. */
export const userTierHeader = parameterRegistry.registerParameter(
  'userTier',
  z
    .string()
    .regex(LANE_PATTERN)
    .optional()
    .openapi({
      param: {
        name: 'user-tier',
        in: 'header',
        description:
          "The shopper's priority lane (one of the item's `lanes`), set or stripped by the trusted gateway; ignored in JWT identity mode (the lane claim decides); absent or unknown: the last lane.",
      },
    }),
);
/** Header `Idempotency-Key` of the writes. */
export const idempotencyKeyHeader = parameterRegistry.registerParameter(
  'idempotencyKey',
  z
    .string()
    .regex(/^[\x20-\x7e]{1,255}$/)
    .optional()
    .openapi({
      param: {
        name: 'Idempotency-Key',
        in: 'header',
        description:
          'IETF httpapi draft "The Idempotency-Key HTTP Header Field": makes a retry of this write safe. The key and the first answer are recorded in the same atomic step as the change (IDEMPOTENCY_TTL_SECONDS, default 24 h; at most IDEMPOTENCY_MAX_KEYS per item); a retry with the same key gets the first answer (status and body) and changes nothing; the same key with another request (route, parameters, body or caller) is 422 `IDEMPOTENCY_KEY_REUSED`. Send one after a 503, whose outcome is unknown. Without it, the write behaves as without the header.',
      },
    }),
);
/** Header `if-match` of the item upsert. */
export const ifMatchHeader = parameterRegistry.registerParameter(
  'ifMatch',
  z
    .string()
    .optional()
    .openapi({
      param: {
        name: 'if-match',
        in: 'header',
        description:
          'The ETag of a GET of the item (or `*`: the item exists; not enough to set remainCount). Absent: no precondition.',
      },
    }),
);
/** Header `x-request-id`: the caller's request id. */
export const requestIdHeader = parameterRegistry.registerParameter(
  'requestId',
  z
    .string()
    .optional()
    .openapi({
      param: {
        name: 'x-request-id',
        in: 'header',
        description:
          "The caller's request id, echoed in `X-Request-Id` and logged; ignored unless 1-128 of `[A-Za-z0-9._-]`.",
      },
    }),
);

/** A path parameter the document does not name: any string (pages and static files). */
export const anyPathParam = z.string();

/** `data` of register and poll: a shopper's place in the waiting queue, or their admission. */
export const waitingQueueViewSchema = z
  .object({
    itemId: idComponent,
    waitingQueueToken: waitingQueueTokenComponent,
    waitingQueueRank: z.number().int().min(0).openapi({
      description:
        '1-based position among waiting users, exact as of the latest admission tick (registrations in a higher lane since then count from the next one); 0 once admitted.',
    }),
    canOrder: z.boolean().openapi({ description: 'True once admitted.' }),
    estimatedWaitSeconds: z
      .number()
      .int()
      .min(0)
      .nullable()
      .openapi({ description: 'Seconds; 0 when admitted; null while nobody is admitted (paused, sold out).' }),
    pollAfterMs: z.number().int().min(0).openapi({
      description:
        "When to poll next, ms from now: half the estimated wait, within 1 s and the server's POLL_MAX_SECONDS (30 s by default); just after the next admission tick for a place that tick admits; 0 once admitted.",
    }),
    admissionExpiresAt: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'Admission expiry, epoch ms (Redis clock); null while waiting.' }),
    soldOut: z
      .boolean()
      .openapi({ description: 'True when the item has no stock left: waiting users may stop polling.' }),
    entryPass: z.string().regex(ENTRY_PASS).nullable().openapi({
      description: 'Once admitted: an ES256 JWT (sub userId, aud itemId, jti token) to verify offline; else null.',
    }),
  })
  .strict()
  .openapi('WaitingQueueView');
/** `data` of register and poll (the fields as {@link waitingQueueViewSchema} describes them). */
export type WaitingQueueView = z.infer<typeof waitingQueueViewSchema>;

/** `data` of `GET /api/v1/item/{itemId}`: what a shopper's page may know about an item. */
export const publicItemViewSchema = z
  .object({
    itemId: idComponent,
    itemName: z.string(),
    targetUrl: z
      .string()
      .url()
      .nullable()
      .openapi({ description: 'Order page of admitted shoppers; null when none is configured.' }),
    waitingQueueEnabled: z.boolean(),
    soldOut: z.boolean(),
  })
  .strict()
  .openapi('PublicItemView');
/** `data` of `GET /api/v1/item/{itemId}`. */
export type PublicItemView = z.infer<typeof publicItemViewSchema>;

/** `data` of validate: an order service's check of a token. */
export const validationViewSchema = z
  .object({
    admitted: z.boolean(),
    userId: idComponent,
    itemId: idComponent,
    expiresInSeconds: z
      .number()
      .int()
      .min(0)
      .nullable()
      .openapi({ description: 'Seconds until the admission expires; null when not admitted.' }),
  })
  .strict()
  .openapi('ValidationView');
/** `data` of validate. */
export type ValidationView = z.infer<typeof validationViewSchema>;

/** `data` of consume: the admission is used, once. */
export const consumeResultSchema = z
  .object({ consumed: z.literal(true), userId: idComponent, itemId: idComponent })
  .strict()
  .openapi('ConsumeResult');
/** `data` of consume. */
export type ConsumeResult = z.infer<typeof consumeResultSchema>;

/** `data` of claim: a first-come claim on a DIRECT item. */
export const claimViewSchema = z
  .object({
    claimId: z.string().openapi({ description: '`<itemId>.c<n>`.' }),
    itemId: idComponent,
    userId: idComponent,
    remainCount: z.number().int().min(0).openapi({ description: 'Stock left after this claim.' }),
  })
  .strict()
  .openapi('ClaimView');
/** `data` of claim. */
export type ClaimView = z.infer<typeof claimViewSchema>;

/** Body of `PUT .../token-count-to-move` (and `data` of both its routes): the global N. */
export const tokenCountToMoveSchema = z
  .object({
    tokenCountToMove: z
      .number()
      .int()
      .min(0)
      .max(MAX_TOKEN_COUNT_TO_MOVE)
      .openapi({ description: 'Tokens admitted per item per tick; 0 pauses admission.' }),
  })
  .strict()
  .openapi('TokenCountToMove');

/** Query of `PUT .../token-count-to-move`: N as decimal digits; wins over the body. */
export const tokenCountToMoveQuerySchema = z
  .object({
    tokenCountToMove: z
      .string()
      .regex(/^[0-9]{1,7}$/, 'tokenCountToMove must be a non-negative integer')
      .optional()
      .openapi({ param: { description: 'N; wins over the body.' } }),
  })
  .passthrough();

/** Body of `POST .../token-count`: the items whose counts to answer, or all of them. */
export const tokenCountSearchSchema = z
  .object({
    searchAll: z.boolean().optional().default(false),
    itemIdListToSearch: z.array(idComponent).max(10_000).optional().default([]),
  })
  .strict()
  .openapi('TokenCountSearch');

/** Body of an item upsert (the domain's schema, ItemStore's, named for the document). */
export const waitingItemInputComponent = waitingItemInputSchema
  // The distinct-lanes rule is a refinement, which the generator does not see: say it in the document's terms.
  .extend({ lanes: waitingItemInputSchema.shape.lanes.openapi({ uniqueItems: true }) })
  .openapi('WaitingItemInput');

/** Body of a restock: the units to add. */
export const restockInputSchema = z
  .object({ quantity: z.number().int().min(1).max(1_000_000_000) })
  .strict()
  .openapi('RestockInput');

/** Body of a reservation (the domain's schema, ReservationStore's, named for the document). */
export const reservationInputComponent = reservationInputSchema.openapi('ReservationInput');

/** Query of the console's history: one item, or absent for the sum over all items. */
export const historyQuerySchema = z
  .object({
    itemId: idComponent.optional().openapi({ param: { description: 'The item; absent: the sum over all items.' } }),
  })
  .strict();

/** Query of the audit trail: how many entries, as decimal digits (the range 1-500 is checked by the handler). */
export const auditQuerySchema = z
  .object({
    limit: z
      .string()
      .regex(/^[0-9]{1,4}$/, 'must be an integer 1-500')
      .optional()
      .openapi({ param: { description: 'How many, 1-500 (default 50).' } }),
  })
  .strict();

/** `data` of register's 409 for an item that cannot take waiting users, with the reason. */
export const registerRefusalSchema = z
  .object({ itemId: idComponent, reason: z.enum(['NO_ITEM', 'DISABLED', 'SOLD_OUT', 'DIRECT']) })
  .strict()
  .openapi('RegisterRefusal');

/** `data` of ITEM_NOT_OPEN: a TIME_DEAL before its start. */
export const notOpenSchema = z
  .object({
    itemId: idComponent,
    opensAt: z.number().int().openapi({ description: "The TIME_DEAL's startAt, epoch ms." }),
  })
  .strict()
  .openapi('NotOpen');

/** `data` of a refusal that names only the item. */
export const itemRefSchema = z.object({ itemId: idComponent }).strict().openapi('ItemRef');

/** `data` of a claim's 409: the item, and `claimId` when this user holds a claim already. */
export const claimRefusalSchema = z.object({ itemId: idComponent });

/** `data` of a reservation's 409: the item, and the limit or the stock that refused it. */
export const reserveRefusalSchema = z.object({
  itemId: idComponent,
  maxPerUser: z.number().int().optional(),
  held: z.number().int().optional(),
  remainCount: z.number().int().optional(),
});

/** A reservation of stock, as the internal API answers it. */
export const reservationSchema = z
  .object({
    reservationId: z.string().openapi({ description: '`<itemId>.<n>`.' }),
    itemId: idComponent,
    userId: idComponent,
    quantity: z.number().int().min(1),
    status: z.enum(['PENDING', 'CONFIRMED', 'CANCELLED', 'EXPIRED']),
    createdAt: z.number().int().openapi({ description: 'Epoch ms (Redis clock).' }),
    expiresAt: z.number().int().openapi({ description: 'A PENDING reservation expires at this time, epoch ms.' }),
    updatedAt: z.number().int().openapi({ description: 'Epoch ms.' }),
  })
  .strict()
  .openapi('Reservation');
/** A reservation (the fields as {@link reservationSchema} describes them). */
export type ReservationAnswer = z.infer<typeof reservationSchema>;

/** `data` of RESERVATION_NOT_PENDING: the reservation's final status. */
export const reservationStatusRefSchema = z
  .object({ reservationId: z.string(), status: z.enum(['CONFIRMED', 'CANCELLED']) })
  .strict()
  .openapi('ReservationStatusRef');

/** `data` of RESERVATION_EXPIRED: the expired reservation. */
export const expiredReservationSchema = z
  .object({ reservation: reservationSchema })
  .strict()
  .openapi('ExpiredReservation');

/**
 * An id or null. A union, not `.nullable()`: the generator would write a nullable reference as `allOf` of the
 * reference and a nullable string, which refuses null.
 */
const nullableId = z.union([idComponent, z.null()]);

/** Any JSON value, present (JSON null included): `z.unknown()` alone would be an optional field. */
const anyValue = (description?: string) => {
  const schema = z.unknown().refine((v): boolean => v !== undefined, 'required');
  return description ? schema.openapi({ description }) : schema;
};

/** An integer (`z.number().int()`), optionally with a description. */
const int = (description?: string) => {
  const schema = z.number().int();
  return description ? schema.openapi({ description }) : schema;
};
/** A count: an integer of at least 0. */
const count = (description?: string) => {
  const schema = z.number().int().min(0);
  return description ? schema.openapi({ description }) : schema;
};

/** `data` of a restock: the units added and the stock after them. */
export const restockResultSchema = z
  .object({ itemId: idComponent, quantity: z.number().int().min(1), remainCount: count() })
  .strict()
  .openapi('RestockResult');
/** `data` of a restock. */
export type RestockResult = z.infer<typeof restockResultSchema>;

/** `data` of the token-count routes: the waiting and admitted counts per item. */
export const tokenCountListSchema = z
  .object({
    currentWaitingQueueList: z.array(
      z
        .object({
          itemId: idComponent,
          waitingTokenCount: count(),
          enteredTokenCount: count('Unexpired admissions.'),
          unavailable: z.boolean().optional().openapi({
            description:
              "True when the item's Redis node is unreachable now (a Cluster failover): its counts read 0, retry shortly.",
          }),
        })
        .strict(),
    ),
  })
  .strict()
  .openapi('TokenCountList');
/** `data` of the token-count routes. */
export type TokenCountList = z.infer<typeof tokenCountListSchema>;

/** The fields of a waiting item as the admin API answers them (WaitingItem and the console's rows). */
const waitingItemFields = (targetUrlDescription?: string) => ({
  itemId: idComponent,
  itemName: z.string(),
  remainCount: count(),
  waitingQueueEnabled: z.boolean(),
  tokenCountToMove: z.number().int().min(0).nullable(),
  maxActiveUsers: z.number().int().min(1).nullable(),
  targetUrl: targetUrlDescription
    ? z.string().url().optional().openapi({ description: targetUrlDescription })
    : z.string().url().optional(),
  type: z.enum(['GENERAL', 'TIME_DEAL']).optional().openapi({ description: 'Absent: GENERAL.' }),
  startAt: int('Opening of a TIME_DEAL, epoch ms.').optional(),
  maxPerUser: z.number().int().min(1).optional().openapi({ description: 'Absent: 1.' }),
  queueMode: z.enum(['WAITING', 'DIRECT']).optional().openapi({ description: 'Absent: WAITING.' }),
  lanes: z.array(z.string()).optional().openapi({ description: 'Priority lanes, highest first; absent: one lane.' }),
  maxWaiting: z.number().int().min(1).optional().openapi({ description: 'Absent: no cap.' }),
});

/** `data` of the item routes of the admin API: a waiting item as stored. */
export const waitingItemSchema = z
  .object(waitingItemFields('Absent when none is configured.'))
  .strict()
  .openapi('WaitingItem');
/** A waiting item as the admin API answers it. */
export type WaitingItemView = z.infer<typeof waitingItemSchema>;

/** A row of the console's table: a waiting item with its queue counts and admission rate. */
export const consoleItemRowSchema = z
  .object({
    ...waitingItemFields(),
    waitingTokenCount: count(),
    enteredTokenCount: count(),
    admitRate: z
      .number()
      .min(0)
      .openapi({ description: 'Admission capacity, tokens per second (0: paused, disabled, sold out).' }),
    admittedTotal: count('Places that ever left the waiting queue.'),
    drainSeconds: count('Estimated seconds to drain the waiting queue; null when admitRate is 0.').nullable(),
    lastTickAt: int("Redis time of the item's last admission tick, epoch ms.").nullable(),
    fence: int('Admission fence: slot of the last tick that moved the item, epoch ms (Redis clock).').nullable(),
    fenceStuck: z.boolean().openapi({
      description: 'The fence is more than one tick ahead of Redis time: ticks are refused until it is cleared.',
    }),
  })
  .strict()
  .openapi('ConsoleItemRow', { description: 'A WaitingItem with its queue counts and admission rate.' });

/** `data` of the console's overview: everything its table shows. */
export const consoleOverviewSchema = z
  .object({
    tokenCountToMove: count(),
    tickMs: z.number().int().min(1),
    serverTime: int('Epoch ms, the Redis clock (as redisTime): the console compares it with lastTickAt.'),
    redisTime: int('Redis TIME, epoch ms: the clock fences and expiries are compared with.'),
    redisErrors: count(
      'Redis errors this scheduler process counted since it started (wq_redis_errors_total, all kinds).',
    ),
    relay: z
      .object({ lagEntries: count(), lagSeconds: z.number().min(0), gaps: count() })
      .strict()
      .nullable()
      .openapi({
        description:
          'The outbox relay (null without KAFKA_BROKERS): events not yet acknowledged by Kafka, the age of the oldest, gaps found.',
      }),
    items: z.array(consoleItemRowSchema),
    unavailableItems: z.array(idComponent).optional().openapi({
      description: 'Listed items whose Redis node is unreachable now (a Cluster failover); absent when none.',
    }),
    truncated: z.boolean(),
  })
  .strict()
  .openapi('ConsoleOverview');
/** `data` of the console's overview. */
export type ConsoleOverview = z.infer<typeof consoleOverviewSchema>;

/** `data` of a fence clear: the fence before and after. */
export const fenceClearResultSchema = z
  .object({
    itemId: idComponent,
    cleared: z.boolean().openapi({ description: 'False when the fence was not stuck (nothing changed).' }),
    previousFence: int('Epoch ms.').nullable(),
    fence: int('The stored fence now, epoch ms: Redis now + one tick when cleared.').nullable(),
    redisNow: int('Redis TIME, epoch ms.'),
  })
  .strict()
  .openapi('FenceClearResult');
/** `data` of a fence clear. */
export type FenceClearResult = z.infer<typeof fenceClearResultSchema>;

/** `data` of the console's history: per-tick samples, oldest first. */
export const historyAnswerSchema = z
  .object({
    itemId: nullableId,
    tickMs: z
      .number()
      .int()
      .min(1)
      .openapi({ description: 'Admission tick interval, ms: admissions/s = moved x 1000 / tickMs.' }),
    windowMs: z.number().int().min(1),
    samples: z
      .array(
        z
          .object({
            at: int("The tick's slot, epoch ms (Redis clock)."),
            waiting: count(),
            admitted: count('Unexpired admissions after the tick.'),
            moved: count('Tokens the tick admitted.'),
            tickDurationMs: z.number().min(0),
          })
          .strict(),
      )
      .openapi({ description: 'Oldest first, one per tick.' }),
  })
  .strict()
  .openapi('HistoryAnswer');
/** `data` of the console's history. */
export type HistoryAnswer = z.infer<typeof historyAnswerSchema>;

/** An entry of the admin audit trail: who changed what, before and after. */
export const auditEntrySchema = z
  .object({
    id: z.string().openapi({ description: 'Stream entry id.' }),
    at: int('When, epoch ms (Redis clock).'),
    actor: z.string().openapi({ description: '`bearer:<first 12 hex of SHA-256 of the admin token>`, or `dev mode`.' }),
    action: z.enum([
      'token-count-to-move',
      'pause',
      'resume',
      'item-upsert',
      'item-enable',
      'item-disable',
      'restock',
      'fence-clear',
    ]),
    itemId: nullableId,
    before: anyValue('The fields the change touched, before it (null: the item did not exist).'),
    after: anyValue('The same fields after it.'),
  })
  .strict()
  .openapi('AuditEntry');

/** `data` of the audit trail: the newest entries first. */
export const auditAnswerSchema = z.object({ entries: z.array(auditEntrySchema) }).strict();
/** `data` of the audit trail. */
export type AuditAnswer = z.infer<typeof auditAnswerSchema>;

/** `data` of a new reservation: the reservation, with the item's stock after it. */
export const reservationViewSchema = z
  .object({
    reservationId: z.string(),
    itemId: idComponent,
    userId: idComponent,
    quantity: z.number().int().min(1),
    status: z.literal('PENDING'),
    createdAt: int(),
    expiresAt: int(),
    updatedAt: int(),
    remainCount: count(),
  })
  .strict()
  .openapi('ReservationView', { description: "A new reservation (as Reservation), with the item's stock after it." });

/** The JWK Set of the entry passes' public keys (RFC 7517; never a private part `d`). */
export const jwkSetSchema = z
  .object({
    keys: z
      .array(
        z.object({
          kty: z.literal('EC'),
          crv: z.literal('P-256'),
          x: z.string(),
          y: z.string(),
          kid: z.string(),
          alg: z.literal('ES256'),
          use: z.literal('sig'),
          // The private part never appears: `not: {}` (JSON Schema `false`) forbids the field.
          d: z.unknown().openapi({ not: {} }),
        }),
      )
      .min(1),
  })
  .openapi('JwkSet');

/** The health answer when up (terminus). */
export const healthOkSchema = z
  .object({ status: z.literal('ok'), live: z.literal(true).optional(), ready: z.literal(true).optional() })
  .openapi('HealthOk');
/** The health answer when down (terminus). */
export const healthErrorSchema = z.object({ status: z.literal('error') }).openapi('HealthError');

/** Body of an HTML page. */
export const htmlPage = { 'text/html': z.string() };
/** Body of a static file: CSS or JavaScript. */
export const assetFile = { 'text/css': z.string(), 'text/javascript': z.string() };
/** Body of `/metrics`: the Prometheus text exposition format. */
export const metricsText = { 'text/plain': z.string() };
/** Body of `/openapi.json`: an OpenAPI 3.1 document (only its version and paths are promised). */
export const openApiDocumentSchema = z.object({ openapi: z.literal('3.1.0'), paths: z.record(z.unknown()) });

/** Component `ErrorCode`: every stable error code (core errors.ts ErrorCodes). */
export const errorCodeSchema = z.enum(Object.keys(ErrorCodes) as [ErrorCode, ...ErrorCode[]]).openapi('ErrorCode', {
  description: 'Stable error codes; each maps to one HTTP status (see packages/core/src/errors.ts).',
});

/** Component `Envelope`: the envelope of every API answer, SUCCESS or FAIL. */
export const envelopeSchema = z
  .object({
    state: z.enum(['SUCCESS', 'FAIL']),
    errorCode: z.union([errorCodeSchema, z.null()]),
    errorMessage: z.string().nullable(),
    data: anyValue(),
  })
  .strict()
  .openapi('Envelope', { description: 'The envelope of every API response.' });

/**
 * The named schemas of the document's components (each carries its `.openapi(name)`): those the route tables use,
 * and the ids they reference. openapi.ts registers them with the route tables' paths in one zod-to-openapi registry.
 */
export const viewSchemas: readonly z.ZodTypeAny[] = [
  idComponent,
  waitingQueueTokenComponent,
  waitingQueueViewSchema,
  publicItemViewSchema,
  validationViewSchema,
  consumeResultSchema,
  claimViewSchema,
  tokenCountToMoveSchema,
  tokenCountSearchSchema,
  waitingItemInputComponent,
  restockInputSchema,
  reservationInputComponent,
  registerRefusalSchema,
  notOpenSchema,
  itemRefSchema,
  reservationSchema,
  reservationStatusRefSchema,
  expiredReservationSchema,
  restockResultSchema,
  tokenCountListSchema,
  waitingItemSchema,
  consoleItemRowSchema,
  consoleOverviewSchema,
  fenceClearResultSchema,
  historyAnswerSchema,
  auditEntrySchema,
  reservationViewSchema,
  jwkSetSchema,
  healthOkSchema,
  healthErrorSchema,
  errorCodeSchema,
  envelopeSchema,
];
