import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { idSchema, TOKEN_PATTERN } from '@waiting-queue/core/ids';
import { MAX_TOKEN_COUNT_TO_MOVE, waitingItemInputSchema } from '@waiting-queue/core/item-store';
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
];
