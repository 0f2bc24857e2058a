import express, { type Express } from 'express';
import { bearerAuth, errorHandler, notFound, route, type Logger } from '@waiting-queue/shared';
import type { EntryPassIssuer } from './entry-pass';
import type { Operations } from './operations';

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
  app.use('/internal/v1', internal);

  app.use(notFound);
  app.use(errorHandler(o.logger));
  return app;
}
