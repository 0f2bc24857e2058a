import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';
import { countRedisError, Gauge, metricsRegistry } from './metrics';

/** A single Redis or a Redis Cluster client: every script works on both (see keys.ts for the hash tags). */
export type RedisClient = Redis | Cluster;

/** Where to connect: `REDIS_CLUSTER_NODES` (comma-separated host:port) wins over `REDIS_URL`. */
export interface RedisTarget {
  url?: string;
  clusterNodes?: string[];
  /**
   * How long a command may go unanswered on an open connection before its promise rejects with "Command timed out"
   * (a 503), ms (`REDIS_COMMAND_TIMEOUT_MS`); default {@link DEFAULT_COMMAND_TIMEOUT_MS}.
   */
  commandTimeoutMs?: number;
}

/** The default of {@link RedisTarget.commandTimeoutMs}, ms: well above any script of the product under load. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5000;

/**
 * A single-node client that pipelines by corking its socket: the first command of an event-loop turn corks the
 * socket and schedules an uncork with setImmediate, so every command issued in that turn (all the requests whose
 * bytes arrived in one epoll wake-up) leaves in one `writev`, and the replies come back in one read.
 *
 * Why not ioredis's `enableAutoPipelining`: it gets the same batching by building a `Pipeline` per turn, with a
 * second promise, a callback array and a re-dispatch of each command; with 100 concurrent EVALSHA calls that is
 * 15-19 us of client CPU per command against 9 us here (node-redis 5, which batches the same way, also 9 us; see
 * docs/performance.md). Only the api's hot path needs it, but it is the same client for every process.
 * Commands keep ioredis's semantics (ordering, replies, errors, reconnects): only the moment of the write moves,
 * never later than the end of the current event-loop turn.
 */
export class CorkingRedis extends Redis {
  private corked: Redis['stream'] | undefined;
  private readonly uncork = (): void => {
    const s = this.corked;
    this.corked = undefined;
    s?.uncork();
  };

  /** ioredis's sendCommand, with the socket corked until the end of this event-loop turn. */
  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    const stream = this.stream;
    if (this.corked === undefined && stream !== undefined && stream.writable) {
      this.corked = stream;
      stream.cork();
      setImmediate(this.uncork);
    }
    return super.sendCommand(...args);
  }
}

/** How often a Cluster client reloads its slot map (CLUSTER SLOTS), ms: at most one admission tick (1 s). */
export const SLOTS_REFRESH_INTERVAL_MS = 1000;

/**
 * A Cluster client whose slot map follows a failover within {@link SLOTS_REFRESH_INTERVAL_MS}, and at once when a
 * batch comes back with MOVED or ASK.
 *
 * Why: ioredis refreshes its map on the MOVED of a single command, but an auto-pipelined batch whose commands hit
 * two slots of a failed-over master gets one MOVED per slot, which ioredis neither retries nor acts on: it hands
 * them to the callers, and, with no periodic refresh, keeps routing those slots to the old master until something
 * else refreshes the map. Here every batch's replies are checked and a MOVED/ASK triggers a refresh (ioredis
 * merges concurrent refreshes into one). The callers still get the MOVED (503: the write did not run; they retry).
 */
export class FailoverAwareCluster extends Cluster {
  /** ioredis's pipeline (used by auto-pipelining for every batch), watched for redirections. */
  override pipeline(commands?: unknown[][]): ReturnType<Cluster['pipeline']> {
    const p = super.pipeline(commands);
    const pending = (p as unknown as { promise: Promise<[Error | null, unknown][]> }).promise;
    pending.then(
      (results) => {
        if (results.some(([err]) => err instanceof Error && /^(MOVED|ASK) /.test(err.message)))
          this.refreshSlotsCache();
      },
      () => undefined, // the batch's own callers get its error
    );
    return p;
  }
}

/**
 * Options shared by every connection of the product:
 * - pipelining: one write per event-loop turn for all concurrent requests (CorkingRedis on a single node,
 *   ioredis's auto-pipelining on a Cluster);
 * - no offline queue, so while Redis is down a request fails at once (503) instead of piling up;
 * - no resending after a reconnect: a command whose reply was lost with the connection may have run already (a
 *   script that added stock, consumed an admission, issued a claim), and running it again would be a second
 *   effect. It fails instead (see {@link failUnansweredOnClose}: 503), and the caller retries with its
 *   Idempotency-Key;
 * - reconnect forever, backing off to 1 s, so the servers recover by themselves when Redis comes back;
 * - (per target) a command unanswered for `commandTimeoutMs` on a connection that stays open fails: a stalled
 *   Redis answers 503 like a lost one, instead of holding every request. The reply still arrives in its place in
 *   the connection's queue later (ioredis keeps the command queued), so the replies of later commands are not
 *   shifted; a write that timed out may have run (503, retried with its Idempotency-Key).
 */
const baseOptions: RedisOptions = {
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  retryStrategy: (times) => Math.min(times * 100, 1000),
};

/**
 * Creates a client for `target` and connects it (resolves when ready).
 * @param name connection name, shown by CLIENT LIST.
 * @throws when the first connection does not become ready within `timeoutMs` (default 10 000 ms).
 */
export async function connectRedis(target: RedisTarget, name: string, timeoutMs = 10_000): Promise<RedisClient> {
  let client: RedisClient;
  const options: RedisOptions = {
    ...baseOptions,
    connectionName: name,
    commandTimeout: target.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
  };
  if (target.clusterNodes && target.clusterNodes.length > 0) {
    const nodes: ClusterNode[] = target.clusterNodes.map((hp) => {
      const [host, port] = hp.trim().split(':');
      return { host, port: Number(port) };
    });
    const cluster = new FailoverAwareCluster(nodes, {
      enableAutoPipelining: true,
      slotsRefreshInterval: SLOTS_REFRESH_INTERVAL_MS,
      enableOfflineQueue: false,
      clusterRetryStrategy: (times) => Math.min(times * 100, 1000),
      // A node's connection that closes fails its unanswered commands with "Connection is closed."; the Cluster
      // would send them again after retryDelayOnFailover (default 100 ms), a second effect. 0: they fail (503).
      retryDelayOnFailover: 0,
      redisOptions: options,
    });
    cluster.on('+node', (node: Redis) => failUnansweredOnClose(node));
    client = cluster;
  } else {
    const single = new CorkingRedis(target.url ?? 'redis://127.0.0.1:6379', { ...options, lazyConnect: true });
    failUnansweredOnClose(single);
    single.connect().catch(() => undefined); // errors surface through 'error' and the ready wait below
    client = single;
  }
  // Reconnects are logged by the caller through isReady(); each error event is counted (wq_redis_errors_total).
  client.on('error', () => countRedisError('connection'));
  await waitReady(client, timeoutMs);
  return client;
}

/** Message of the error a command gets when its connection closed before its reply came (isRedisUnavailable: 503). */
export const UNANSWERED_ON_CLOSE = 'Connection is closed before the reply came: the command may have run';

/**
 * Rejects, when `node`'s connection closes, every command sent on it and not yet answered, with
 * {@link UNANSWERED_ON_CLOSE}. With `autoResendUnfulfilledCommands: false` alone, ioredis keeps those commands
 * when the reconnect happens before its `maxRetriesPerRequest` flush and then forgets them without settling their
 * promises (ioredis 5: `prevCommandQueue = null` on ready), so the request would hang; here each one fails at once
 * and the request answers 503.
 */
export function failUnansweredOnClose(node: Redis): void {
  node.on('close', () => {
    // 'close' is emitted on the next tick after the socket closed, before any reconnect (retryStrategy >= 100 ms).
    // commandQueue and flushQueue are ioredis internals (not in its typings); flushQueue rejects each command.
    const internals = node as unknown as {
      commandQueue: { length: number };
      flushQueue: (err: Error, o: { offlineQueue: boolean }) => void;
    };
    if (internals.commandQueue.length > 0)
      internals.flushQueue(new Error(UNANSWERED_ON_CLOSE), { offlineQueue: false });
  });
}

/** Resolves when `client` is ready, rejects after `timeoutMs` milliseconds. */
export function waitReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`redis not ready after ${timeoutMs} ms (status ${client.status})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

/** True when the client can take commands now. */
export function isReady(client: RedisClient): boolean {
  return client.status === 'ready';
}

/**
 * The Redis nodes this client knows and whether each is connected now: on a Cluster, every node of its pool
 * (masters and replicas, `host:port`); on a single node, that node. A failed master stays listed (down) until the
 * cluster no longer names it, i.e. until its replica is promoted.
 */
export function redisNodes(client: RedisClient): { node: string; up: boolean }[] {
  if (!(client instanceof Cluster))
    return [
      { node: `${client.options.host ?? '127.0.0.1'}:${client.options.port ?? 6379}`, up: client.status === 'ready' },
    ];
  // ioredis drops a node's connection from its pool when it closes, and adds it again at the next slot map refresh:
  // the nodes that serve slots in the client's map are listed whether connected or not.
  const up = new Map(client.nodes().map((n) => [`${n.options.host}:${n.options.port}`, n.status === 'ready']));
  for (const owners of client.slots) if (owners?.[0] !== undefined && !up.has(owners[0])) up.set(owners[0], false);
  return [...up].map(([node, isUp]) => ({ node, up: isUp }));
}

/**
 * The readiness body's Redis part: the nodes that are down now (`redisNodesDown`, `host:port`). A process whose
 * client is ready stays ready while some nodes of a Cluster fail over: it can serve the items of the others.
 */
export function redisReadiness(client: RedisClient): { redisNodesDown: string[] } {
  return {
    redisNodesDown: redisNodes(client)
      .filter((n) => !n.up)
      .map((n) => n.node),
  };
}

let nodeGaugeClient: RedisClient | undefined;

/**
 * `wq_redis_node_up{node}`: 1 when this process is connected to that Redis node (`host:port`), 0 when not, read at
 * each scrape (see {@link redisNodes}). Call once per process with its client.
 */
export function meterRedisNodes(client: RedisClient): void {
  if (nodeGaugeClient !== undefined) {
    nodeGaugeClient = client;
    return;
  }
  nodeGaugeClient = client;
  new Gauge({
    name: 'wq_redis_node_up',
    help: 'Whether this process is connected to the Redis node (1) or not (0), by host:port (api workers: all of them)',
    labelNames: ['node'] as const,
    registers: [metricsRegistry],
    aggregator: 'min',
    collect() {
      this.reset();
      for (const n of redisNodes(nodeGaugeClient!)) this.set({ node: n.node }, n.up ? 1 : 0);
    },
  });
}
