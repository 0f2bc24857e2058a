import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createTerminus } from '@godaddy/terminus';
import type { Logger } from '@waiting-queue/core/logger';

/** What {@link serveWithLifecycle} needs. */
export interface LifecycleOptions {
  /** Answers every request but `/health/*` (which terminus answers first). */
  listener: RequestListener;
  port: number;
  host: string;
  logger: Logger;
  /** Readiness: false makes `/health/ready` answer 503 (warming up, Redis down, shutting down). */
  isReady: () => boolean;
  /** Extra fields of the readiness body (e.g. `redisNodesDown`), when ready. */
  readyDetails?: () => Record<string, unknown>;
  /** Releases resources (Redis, Kafka) after the server stopped accepting and in-flight requests finished. */
  onShutdown: () => Promise<void>;
  /** Grace period for in-flight requests, milliseconds. */
  timeoutMs: number;
  /**
   * Drain before closing, milliseconds (default 1000): on SIGTERM the server first keeps answering, with
   * `Connection: close` and readiness 503, so that requests already sent on idle keep-alive connections are
   * read and answered instead of being reset when those connections are closed.
   */
  drainMs?: number;
}

/** A server started by {@link serveWithLifecycle}. */
export interface ServedServer {
  server: Server;
  /** The bound port (useful with port 0). */
  port: number;
}

/**
 * The first link of the listener chain: while shutting down, answers with `Connection: close` so that clients stop
 * reusing the connection, and drops unprocessed a request that arrives on a connection the server has already
 * ended (an idle keep-alive one: node's http server is half-open, so it would run the request and lose the answer;
 * a client may retry it).
 */
function closingConnections(next: RequestListener, shuttingDown: () => boolean): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (shuttingDown()) {
      if (req.socket.writableEnded || req.socket.destroyed) {
        req.socket.destroy();
        return;
      }
      res.shouldKeepAlive = false;
    }
    next(req, res);
  };
}

/**
 * Creates the server of `listener` with `GET /health/live` and `GET /health/ready` and graceful shutdown on
 * SIGTERM/SIGINT (@godaddy/terminus: drain for `drainMs`, stop accepting, let in-flight requests finish within
 * `timeoutMs`, then `onShutdown`), and starts listening.
 * @throws the server's `error` (e.g. EADDRINUSE) when it cannot listen.
 */
export async function serveWithLifecycle(o: LifecycleOptions): Promise<ServedServer> {
  let shuttingDown = false;
  const server = createServer(closingConnections(o.listener, () => shuttingDown));
  createTerminus(server, {
    signals: ['SIGTERM', 'SIGINT'],
    timeout: o.timeoutMs,
    useExit0: true,
    healthChecks: {
      '/health/live': () => Promise.resolve({ live: true }),
      '/health/ready': () =>
        shuttingDown || !o.isReady()
          ? Promise.reject(new Error('not ready'))
          : Promise.resolve({ ready: true, ...(o.readyDetails?.() ?? {}) }),
      verbatim: true,
    },
    beforeShutdown: async () => {
      shuttingDown = true;
      o.logger.info('shutting down: draining, then no new connections, finishing in-flight requests');
      await new Promise((r) => setTimeout(r, o.drainMs ?? 1000));
    },
    onSignal: async () => {
      await o.onShutdown();
    },
    onShutdown: () => {
      o.logger.info('shut down');
      return Promise.resolve();
    },
    // A failing readiness check is a state, not an error: keep it out of the error log.
    logger: (msg, err) => o.logger.debug({ err: err?.message }, msg),
  });
  // Keep-alive connections idle for longer than a load balancer's are closed by it first, not by us.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : o.port };
}
