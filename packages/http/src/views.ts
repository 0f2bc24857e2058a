import { extendZodWithOpenApi, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
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
    waitingQueueRank: z
      .number()
      .int()
      .min(0)
      .openapi({ description: '1-based position among waiting users; 0 once admitted.' }),
    canOrder: z.boolean().openapi({ description: 'True once admitted.' }),
    estimatedWaitSeconds: z
      .number()
      .int()
      .min(0)
      .nullable()
      .openapi({ description: 'Seconds; 0 when admitted; null while nobody is admitted (paused, sold out).' }),
    pollAfterMs: z
      .number()
      .int()
      .min(0)
      .max(30_000)
      .openapi({ description: 'When to poll next, ms from now; 0 once admitted.' }),
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
];
