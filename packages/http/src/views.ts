import { extendZodWithOpenApi, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { idSchema, TOKEN_PATTERN } from '@waiting-queue/core/ids';

extendZodWithOpenApi(z);

/**
 * The response views declared once, as zod schemas: their TypeScript types are `z.infer` of them, and their
 * OpenAPI component schemas are generated from them (zod-to-openapi) into the document that openapi.ts serves.
 * Every object is strict, so test/openapi.test.ts catches a field the code sends and the schema lacks.
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

/**
 * The OpenAPI 3.1 component schemas generated from the views above (and the ids they reference), keyed by name.
 * @returns a fresh object each call.
 */
export function viewComponents(): Record<string, unknown> {
  const schemas = [
    idComponent,
    waitingQueueTokenComponent,
    waitingQueueViewSchema,
    publicItemViewSchema,
    validationViewSchema,
    consumeResultSchema,
    claimViewSchema,
  ];
  const generated = new OpenApiGeneratorV31(
    schemas.map((schema) => ({ type: 'schema' as const, schema })),
  ).generateComponents();
  return (generated.components?.schemas ?? {}) as Record<string, unknown>;
}
