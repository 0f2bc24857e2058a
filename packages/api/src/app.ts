import express, { type Express } from 'express';
import { bearerAuth, errorHandler, notFound, rejectNonJsonBody, route, type Logger } from '@waiting-queue/shared';
import type { EntryPassIssuer } from './entry-pass';
import type { Operations } from './operations';
import { createPageRouter, type PageOptions } from './page';
import type { Identity } from './identity';
import type { StockService } from './stock';
import { createClaimsRouter, createReservationsRouter } from './stock-routes';

/** What the api's express app needs. */
export interface ApiAppOptions {
  ops: Operations;
  logger: Logger;
  /** Serves `/.well-known/jwks.json` when given. */
  entryPasses?: EntryPassIssuer;
  /** Bearer token of /internal/v1; undefined: no auth (development). */
  internalToken?: string;
  /** Maximum JSON body, bytes. */
  bodyLimitBytes: number;
  /** Serves the waiting-room page (`/waiting-room/{itemId}`) and `GET /api/v1/item/{itemId}` when given. */
  page?: Pick<PageOptions, 'items'>;
  /** Serves first-come claims (`/api/v1`, with `identity`) and reservations (`/internal/v1`) when given. */
  stock?: { service: StockService; identity: Identity };
}

/**
 * The api's express app: the public waiting-queue API (`/api/v1`) and the order-service validation
 * (`/internal/v1`, bearer-protected when `internalToken` is set). Every response is the envelope.
 */
export function createApiApp(o: ApiAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(express.json({ limit: o.bodyLimitBytes }));
  app.use(rejectNonJsonBody);

  app.post(
    '/api/v1/item/:itemId/waiting-queue',
    route((req) => o.ops.register(req, req.params.itemId as string)),
  );
  app.get(
    '/api/v1/item/:itemId/waiting-queue/:waitingQueueToken',
    route((req) => o.ops.poll(req, req.params.itemId as string, req.params.waitingQueueToken as string)),
  );
  if (o.entryPasses) {
    const issuer = o.entryPasses;
    // A JWK Set as RFC 7517 defines it (not the envelope), so that JWT libraries can fetch it directly.
    app.get('/.well-known/jwks.json', (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.json(issuer.jwks());
    });
  }

  const internal = express.Router();
  internal.use(bearerAuth(o.internalToken, 'waiting-queue-internal'));
  internal.get(
    '/item/:itemId/waiting-queue/:waitingQueueToken',
    route((req) => o.ops.validate(req, req.params.itemId as string, req.params.waitingQueueToken as string)),
  );
  internal.post(
    '/item/:itemId/waiting-queue/:waitingQueueToken/consume',
    route((req) => o.ops.consume(req, req.params.itemId as string, req.params.waitingQueueToken as string)),
  );
  if (o.stock) {
    app.use(createClaimsRouter(o.stock.service, o.stock.identity));
    internal.use(createReservationsRouter(o.stock.service));
  }
  app.use('/internal/v1', internal);

  if (o.page) app.use(createPageRouter({ items: o.page.items, logger: o.logger }));

  app.use(notFound);
  app.use(errorHandler(o.logger));
  return app;
}
