import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis, ReplyError } from 'ioredis';
import { isRedisUnavailable, toWqError } from '@waiting-queue/core/errors';
import { keys } from '@waiting-queue/core/keys';
import { connectRedis, UNANSWERED_ON_CLOSE, type RedisClient } from '@waiting-queue/core/redis';
import { callScript, keySlot } from '@waiting-queue/core/scripts';
import { startEmbeddedRedis, type EmbeddedRedis } from '@waiting-queue/testkit/embedded-redis';
import { call, startService, type ServiceProcess } from './helpers/processes';
import { startTestCluster, type TestCluster } from './helpers/cluster';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The error `p` rejects with (fails the test when it resolves). */
async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a Redis error, got a reply');
}

/** Slot ranges of the cluster: [from, to, masterPort][]. */
async function slotRanges(c: TestCluster): Promise<[number, number, number][]> {
  const raw = (await c.client.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
  return raw.map(([a, b, m]) => [a, b, m[1]]);
}

/** The port of the master that owns `key` now. */
async function masterOf(c: TestCluster, key: string): Promise<number> {
  const slot = (await c.client.cluster('KEYSLOT', key)) as unknown as number;
  return (await slotRanges(c)).find(([a, b]) => slot >= a && slot <= b)![2];
}

/**
 * Transient cluster replies and slot map refreshes on a real Redis Cluster of 3 masters and 3 replicas
 * (cluster-node-timeout 2000): every transient cluster reply is a 503 with Retry-After, and a client's slot map is
 * right again within one tick of a promotion.
 */
describe('Redis Cluster failover edges (3 masters + 3 replicas)', () => {
  let cluster: TestCluster;
  const extra: EmbeddedRedis[] = [];
  const services: ServiceProcess[] = [];
  const clients: RedisClient[] = [];

  beforeAll(async () => {
    cluster = await startTestCluster(3, { replicasPerMaster: 1, nodeTimeoutMs: 2000 });
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(services.map((s) => s.stop()));
    await Promise.all(extra.map((r) => r.stop()));
    await cluster?.stop();
  });

  /** Asserts the 503 mapping of `err`. */
  const expect503 = (err: Error) => {
    expect(isRedisUnavailable(err)).toBe(true);
    const wq = toWqError(err);
    expect(wq.status).toBe(503);
    expect(wq.errorCode).toBe('SERVICE_UNAVAILABLE');
    expect(wq.headers['Retry-After']).toBe('1');
  };

  test('every transient cluster reply is 503 SERVICE_UNAVAILABLE with Retry-After', async () => {
    const masterPort = cluster.nodes[0].port;
    const plain = new Redis(masterPort, '127.0.0.1');
    clients.push(plain);
    // MOVED: a plain client asks a master for a key of another master's slot.
    let foreign = 'k0';
    for (let i = 0; (await masterOf(cluster, foreign)) === masterPort; i++) foreign = `k${i}`;
    const moved = await errorOf(plain.get(foreign));
    expect(moved.message).toMatch(/^MOVED /);
    expect503(moved);

    // ASK: the owner of a slot that is migrating answers ASK for a key it no longer holds.
    let own = 'a0';
    for (let i = 0; (await masterOf(cluster, own)) !== masterPort; i++) own = `a${i}`;
    const slot = (await plain.cluster('KEYSLOT', own)) as unknown as number;
    const other = new Redis(await masterOf(cluster, foreign), '127.0.0.1');
    clients.push(other);
    const otherId = (await other.cluster('MYID')) as string;
    await plain.cluster('SETSLOT', slot, 'MIGRATING', otherId);
    try {
      const ask = await errorOf(plain.get(own));
      expect(ask.message).toMatch(/^ASK /);
      expect503(ask);
    } finally {
      await plain.cluster('SETSLOT', slot, 'STABLE');
    }

    // CLUSTERDOWN: a cluster node that serves no slot.
    const lonely = await startEmbeddedRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes-lonely.conf']);
    extra.push(lonely);
    const lonelyClient = new Redis(lonely.port, '127.0.0.1');
    clients.push(lonelyClient);
    const down = await errorOf(lonelyClient.get('x'));
    expect(down.message).toMatch(/^CLUSTERDOWN /);
    expect503(down);

    // READONLY and MASTERDOWN: a replica whose master is gone (the state of a demoted master).
    const replica = await startEmbeddedRedis(['--replica-serve-stale-data', 'yes']);
    extra.push(replica);
    const rc = new Redis(replica.port, '127.0.0.1');
    clients.push(rc);
    await rc.replicaof('127.0.0.1', String(lonely.port + 1)); // nobody listens there
    const readonly = await errorOf(rc.set('x', '1'));
    expect(readonly.message).toMatch(/^READONLY /);
    expect503(readonly);
    await rc.config('SET', 'replica-serve-stale-data', 'no');
    const masterdown = await errorOf(rc.get('x'));
    expect(masterdown.message).toMatch(/^MASTERDOWN /);
    expect503(masterdown);

    // A timeout: the node is paused longer than the command may wait.
    const timed = new Redis(lonely.port, '127.0.0.1', { commandTimeout: 100 });
    timed.on('error', () => undefined); // the timeout is asserted below
    clients.push(timed);
    await lonelyClient.client('PAUSE', 1000);
    const timeout = await errorOf(timed.ping());
    expect503(timeout);

    // LOADING, TRYAGAIN and a closed connection cannot be produced on demand here; their replies as Redis and
    // ioredis word them.
    expect503(new ReplyError('LOADING Redis is loading the dataset in memory'));
    expect503(new ReplyError('TRYAGAIN Multiple keys request during rehashing of slot'));
    expect503(new Error('Connection is closed.'));
    expect503(new Error(UNANSWERED_ON_CLOSE));
    // Not every error is transient: a script error stays a bug (500).
    expect(isRedisUnavailable(new ReplyError('ERR Error running script: attempt to compare nil'))).toBe(false);
  }, 60_000);

  test('a redirected read is retried once and answers; a redirected write is not sent again and is a 503', async () => {
    const client = await connectRedis({ clusterNodes: cluster.nodesEnv.split(',') }, 'redirect-test');
    clients.push(client);
    const ranges = await slotRanges(cluster);
    const [from, to, oldPort] = ranges[ranges.length - 1];
    const newPort = ranges.find(([, , p]) => p !== oldPort)![2];
    // Three items of three slots of the last master (empty: CLUSTER SETSLOT … NODE moves only empty slots).
    const items: string[] = [];
    const slots: number[] = [];
    for (let i = 0; items.length < 3; i++) {
      const slot = (await cluster.client.cluster('KEYSLOT', `{r${i}}`)) as unknown as number;
      if (slot >= from && slot <= to && !slots.includes(slot)) {
        slots.push(slot);
        items.push(`r${i}`);
      }
    }
    const counts = (itemId: string) =>
      callScript<[number, number]>(
        client,
        'wq_counts',
        [keys.waiting(itemId), keys.admitted(itemId), keys.admissionBatches(itemId)],
        [],
      );
    expect(await Promise.all(items.map(counts))).toEqual(items.map(() => [0, 0]));
    const newId = (await run('redis-cli', ['-p', String(newPort), 'cluster', 'myid'])).stdout.trim();
    const masters = [...new Set(ranges.map(([, , p]) => p))];
    for (const slot of slots) {
      for (const port of masters)
        await run('redis-cli', ['-p', String(port), 'cluster', 'setslot', String(slot), 'node', newId]);
    }
    // The replicas learn the new owner by gossip, and the client reloads its map from any node, a replica
    // included: wait until every node names the new owner, so that the one reload the product makes finds it.
    for (const node of cluster.nodes) {
      const nc = new Redis(node.port, '127.0.0.1');
      try {
        for (let tries = 0; ; tries++) {
          const map = (await nc.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
          const ownerOf = (slot: number) => map.find(([a, b]) => slot >= a && slot <= b)?.[2][1];
          if (slots.every((slot) => ownerOf(slot) === newPort)) break;
          if (tries > 100) throw new Error(`node ${node.port} does not name the new owner of the moved slots`);
          await sleep(50);
        }
      } finally {
        nc.disconnect();
      }
    }
    // One batch of two reads (two slots): both MOVED, each retried once alone, and both answer.
    expect(await Promise.all(items.slice(0, 2).map(counts))).toEqual([
      [0, 0],
      [0, 0],
    ]);
    // A write to the third slot, batched with a read of it: the write is a 503, and ran nowhere.
    const write = client.set(`{${items[2]}}:probe`, '1');
    const read = counts(items[2]);
    const [w, r] = await Promise.allSettled([write, read]);
    if (w.status === 'rejected') expect503(w.reason as Error);
    expect(r).toEqual({ status: 'fulfilled', value: [0, 0] });
  }, 60_000);

  test('keySlot (the durability option finds the node of a write by it) agrees with CLUSTER KEYSLOT', async () => {
    for (const key of ['wq:items', 'wq:{42}:waiting', 'wq:{scheduler}:run:x', '{}x', 'a{}{b}', '{a', 'ключ']) {
      expect({ key, slot: keySlot(key) }).toEqual({ key, slot: await cluster.client.cluster('KEYSLOT', key) });
    }
  });

  test('the api answers a raw MOVED with 503 and Retry-After on the fast path and on express, logged at warn', async () => {
    // The api on a plain connection to node A of a two-master cluster where A serves every slot at start-up. Then
    // A hands the item's slot to B (CLUSTER SETSLOT … NODE), and A answers the item's commands with the raw MOVED
    // reply, as a failed-over master does to an auto-pipelined batch over two of its slots.
    const a = await startEmbeddedRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes-a.conf']);
    const b = await startEmbeddedRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes-b.conf']);
    extra.push(a, b);
    const ac = new Redis(a.port, '127.0.0.1');
    const bc = new Redis(b.port, '127.0.0.1');
    clients.push(ac, bc);
    await ac.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    await ac.cluster('MEET', '127.0.0.1', b.port);
    for (const deadline = Date.now() + 15_000; ;) {
      const info = (await ac.cluster('INFO')) as string;
      const known = ((await bc.cluster('NODES')) as string).trim().split('\n').length;
      if (info.includes('cluster_state:ok') && known === 2) break;
      if (Date.now() > deadline) throw new Error('two-node cluster not ok within 15 s');
      await sleep(100);
    }
    const api = await startService('api', {
      REDIS_URL: `redis://127.0.0.1:${a.port}`,
      DEV_MODE: '1',
      TOKEN_SECRET: 'cluster-failover-test-secret-0123456789abcdef',
    });
    services.push(api);
    const itemId = 'moved_item';
    const slot = (await ac.cluster('KEYSLOT', `{${itemId}}`)) as unknown as number;
    await ac.cluster('SETSLOT', slot, 'NODE', (await bc.cluster('MYID')) as string);
    expect((await errorOf(ac.get(`wq:{${itemId}}:item`))).message).toMatch(/^MOVED /);
    const fast = await call(`${api.url}/api/v1/item/${itemId}/waiting-queue`, {
      method: 'POST',
      headers: { 'user-id': 'alice' },
    });
    // Consume is an express route only (the fast path takes register, claim, poll and validate).
    const token = fast.body.data?.waitingQueueToken ?? `alice-${itemId}-0b6e7c1e-3f7a-4c7e-9a51-2f1f3c1d2e4a`;
    const viaExpress = await call(`${api.url}/internal/v1/item/${itemId}/waiting-queue/${token}/consume`, {
      method: 'POST',
    });
    expect([fast.body, viaExpress.body]).toEqual([expect.anything(), expect.anything()]);
    for (const r of [fast, viaExpress]) {
      expect(r.status).toBe(503);
      expect(r.body.errorCode).toBe('SERVICE_UNAVAILABLE');
      expect(r.headers.get('retry-after')).toBe('1');
    }
    // The log lines may reach the pipe a moment after the answers.
    const movedLines = () =>
      api
        .output()
        .split('\n')
        .filter((l) => l.includes('MOVED'));
    for (const deadline = Date.now() + 5000; movedLines().length < 2 && Date.now() < deadline;) await sleep(50);
    const lines = movedLines();
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(JSON.parse(l).level).toBe(40); // pino's warn
    expect(api.output()).not.toContain('unhandled error');
  }, 60_000);

  test('after its slots change master, an auto-pipelined batch over two of them routes right within one tick', async () => {
    const client = await connectRedis({ clusterNodes: cluster.nodesEnv.split(',') }, 'failover-test');
    clients.push(client);
    // Two empty keys of two slots of master 0.
    const ranges = await slotRanges(cluster);
    const [from, to, oldPort] = ranges[0];
    const newPort = ranges.find(([, , p]) => p !== oldPort)![2];
    const keysOnMaster: string[] = [];
    const slots: number[] = [];
    for (let i = 0; keysOnMaster.length < 2; i++) {
      const k = `s${i}`;
      const slot = (await cluster.client.cluster('KEYSLOT', k)) as unknown as number;
      if (slot >= from && slot <= to && !slots.includes(slot)) {
        slots.push(slot);
        keysOnMaster.push(k);
      }
    }
    const batch = () => Promise.all(keysOnMaster.map((k) => client.get(k))); // one event-loop turn: one batch
    expect(await batch()).toEqual([null, null]); // the client's map now sends both to master 0

    // Both slots move to another master, as a promotion moves all the slots of the dead master to its replica,
    // but without closing any connection (a closed connection makes ioredis refresh its map by chance): only the
    // MOVED replies tell the client. CLUSTER SETSLOT … NODE on every master (the slots hold no key).
    const newId = (await run('redis-cli', ['-p', String(newPort), 'cluster', 'myid'])).stdout.trim();
    const masters = [...new Set(ranges.map(([, , p]) => p))];
    for (const slot of slots) {
      for (const port of masters)
        await run('redis-cli', ['-p', String(port), 'cluster', 'setslot', String(slot), 'node', newId]);
    }
    const promotedAt = Date.now();

    // One tick is 1 s: the batch must read both keys again within it (plus slack for this shared machine).
    let okAt: number | undefined;
    const errors: string[] = [];
    while (Date.now() - promotedAt < 6000) {
      try {
        expect(await batch()).toEqual([null, null]);
        okAt = Date.now();
        break;
      } catch (err) {
        errors.push((err as Error).message);
        expect503(err as Error); // in the meantime: a 503, never a 500
      }
      await sleep(100);
    }
    expect({ recoveredWithinMs: okAt === undefined ? undefined : okAt - promotedAt, lastError: errors.at(-1) }).toEqual(
      {
        recoveredWithinMs: expect.any(Number),
        lastError: errors.at(-1),
      },
    );
    expect(okAt! - promotedAt).toBeLessThanOrEqual(1500);
    // The client's map follows: the next batch goes straight to the new master.
    expect(await batch()).toEqual([null, null]);
  }, 60_000);
});
