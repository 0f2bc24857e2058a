import express, { type Express, type RequestHandler } from 'express';
import { type Logger } from '@waiting-queue/core/logger';
import { bearerAuth, errorHandler, notFound, registerRoutes, rejectNonJsonBody, route } from '@waiting-queue/http/http';
import { apiRoutes, INTERNAL_PREFIX, type ApiRouteName } from '@waiting-queue/http/route-tables';
import type { EntryPassIssuer } from './entry-pass';
import type { Operations } from './operations';
import { createPageHandlers, type PageOptions } from './page';

import type { StockService } from './stock';

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
  /** Serves first-come claims (`/api/v1`, through `ops.claim`) and reservations (`/internal/v1`) when given. */
  stock?: { service: StockService };
}

/**
 * The api's express app: every route of {@link apiRoutes} whose feature is on, with the public waiting-queue API
 * (`/api/v1`) and the order-service API (`/internal/v1`, bearer-protected when `internalToken` is set, on every
 * path under it). Every response is the envelope but the JWK Set and the page.
 */
export function createApiApp(o: ApiAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(express.json({ limit: o.bodyLimitBytes }));
  app.use(rejectNonJsonBody);
  app.use(INTERNAL_PREFIX, bearerAuth(o.internalToken, 'waiting-queue-internal'));

  const { ops } = o;
  const handlers: { [K in ApiRouteName]?: RequestHandler } = {
    register: route((req) => ops.register(req, req.params.itemId as string)),
    poll: route((req) => ops.poll(req, req.params.itemId as string, req.params.waitingQueueToken as string)),
    validate: route((req) => ops.validate(req, req.params.itemId as string, req.params.waitingQueueToken as string)),
    consume: route((req) => ops.consume(req, req.params.itemId as string, req.params.waitingQueueToken as string)),
  };
  if (o.entryPasses) {
    const issuer = o.entryPasses;
    // A JWK Set as RFC 7517 defines it (not the envelope), so that JWT libraries can fetch it directly.
    handlers.jwks = (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.json(issuer.jwks());
    };
  }
  if (o.stock) {
    const stock = o.stock.service;
    handlers.claim = route((req) => ops.claim(req, req.params.itemId as string));
    handlers.reserve = route((req) => stock.reserve(req.params.itemId, req.body, req.headers));
    handlers.getReservation = route((req) => stock.get(req.params.reservationId));
    handlers.confirmReservation = route((req) => stock.confirm(req.params.reservationId, req.headers));
    handlers.cancelReservation = route((req) => stock.cancel(req.params.reservationId, req.headers));
  }
  if (o.page) {
    const page = createPageHandlers({ items: o.page.items, logger: o.logger });
    handlers.waitingRoomAsset = page.waitingRoomAsset;
    handlers.getPublicItem = page.getPublicItem;
    handlers.waitingRoomPage = page.waitingRoomPage;
  }
  registerRoutes(app.router, apiRoutes, handlers);

  app.use(notFound);
  app.use(errorHandler(o.logger));
  return app;
}
