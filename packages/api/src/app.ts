import express, { type Express } from 'express';
import { bearerAuth, errorHandler, notFound, route, type Logger } from '@waiting-queue/shared';
import type { WaitingRoom } from './waiting-room';

/** What the api's express app needs. */
export interface ApiAppOptions {
  room: WaitingRoom;
  logger: Logger;
  /** Bearer token of /internal/v1; undefined: no auth (development). */
  internalToken?: string;
  /** Maximum JSON body, bytes. */
  bodyLimitBytes: number;
}

/** The header that carries the shopper's id, set by the trusted gateway (the original service's contract). */
export const USER_ID_HEADER = 'user-id';

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
    route((req) => o.room.register(req.params.itemId, req.headers[USER_ID_HEADER])),
  );
  app.get(
    '/api/v1/item/:itemId/waiting-queue/:waitingQueueToken',
    route((req) => o.room.poll(req.params.itemId, req.params.waitingQueueToken, req.headers[USER_ID_HEADER])),
  );

  const internal = express.Router();
  internal.use(bearerAuth(o.internalToken, 'waiting-queue-internal'));
  internal.get(
    '/item/:itemId/waiting-queue/:waitingQueueToken',
    route((req) => o.room.validate(req.params.itemId, req.params.waitingQueueToken)),
  );
  internal.post(
    '/item/:itemId/waiting-queue/:waitingQueueToken/consume',
    route((req) => o.room.consume(req.params.itemId, req.params.waitingQueueToken)),
  );
  app.use('/internal/v1', internal);

  app.use(notFound);
  app.use(errorHandler(o.logger));
  return app;
}
