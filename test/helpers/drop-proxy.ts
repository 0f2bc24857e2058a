import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A TCP proxy in front of a redis-server that can lose one reply on purpose (see {@link startDropProxy}). */
export interface DropProxy {
  /** `redis://127.0.0.1:<port>` of the proxy: give it to the product processes as REDIS_URL. */
  url: string;
  /**
   * Arms the proxy: the next client write that contains `marker` (e.g. a script's SHA-1, so an EVALSHA of that
   * script) is forwarded to Redis; when Redis's reply to it comes back, the proxy destroys both sockets instead of
   * forwarding it. Redis has run the command; the client never hears so.
   * @returns a promise that resolves once that connection was dropped, and rejects when no write contained
   *   `marker` within `timeoutMs` (default 10 000 ms).
   */
  arm: (marker: string, timeoutMs?: number) => Promise<void>;
  /** Stops listening and destroys every proxied connection. */
  close: () => Promise<void>;
}

/**
 * Starts a node:net proxy on a free port of 127.0.0.1 that forwards every connection to `target` (host:port of a
 * redis-server) byte for byte, until armed (see {@link DropProxy.arm}). This is the failure it reproduces:
 * a connection that drops after Redis ran a script but before its reply reached the client.
 */
export async function startDropProxy(target: { host: string; port: number }): Promise<DropProxy> {
  const sockets = new Set<Socket>();
  let armed: { marker: string; dropped: () => void } | undefined;

  const server: Server = createServer((client) => {
    const upstream = createConnection(target);
    sockets.add(client).add(upstream);
    let dropNextReply: (() => void) | undefined;
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => {
      if (armed !== undefined && chunk.includes(armed.marker)) {
        dropNextReply = armed.dropped;
        armed = undefined;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (dropNextReply !== undefined) {
        const dropped = dropNextReply;
        dropNextReply = undefined;
        destroyBoth();
        dropped();
        return;
      }
      client.write(chunk);
    });
    for (const s of [client, upstream]) {
      s.on('error', destroyBoth);
      s.on('close', () => {
        sockets.delete(s);
        destroyBoth();
      });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    arm: (marker, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          armed = undefined;
          reject(new Error(`drop proxy: no command with ${marker} within ${timeoutMs} ms`));
        }, timeoutMs);
        armed = {
          marker,
          dropped: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      }),
    close: async () => {
      armed = undefined;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
