import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { keys } from '@waiting-queue/core/keys';
import { startEmbeddedRedis } from '@waiting-queue/testkit/embedded-redis';
import { startServices } from '../helpers/services';
import { startTestCluster, type TestCluster } from '../helpers/cluster';
import type { ServiceProcess } from '../helpers/processes';
import { sleep, upsertItem } from '../helpers/waiting-room-client';

const run = promisify(execFile);

/**
 * Master failovers of a real Redis Cluster (3 masters + 3 replicas, cluster-node-timeout 2000) under a
 * registration load, with one api and one scheduler (tick 1 s, N = 2).
 *
 * Proves, per kill -9 of a master: clients get no 5xx other than 503; the items of the other masters are admitted
 * every tick; FIFO and "waiting or admitted, never both" hold; every registration answered 200 is still queued;
 * the items of the killed master are admitted again within one tick of their replica's promotion.
 */

const TICK_MS = 1000;
/** A healthy item's tick may come this late on this shared 2-core machine (node-cron fires at most once a tick). */
const TICK_SLACK_MS = 1000;
const RUNS = Number(process.env.CLUSTER_FAILOVER_RUNS ?? 10);
const ITEMS_PER_MASTER = 2;
const LOAD_CLIENTS = 12;
const CLIENT_TIMEOUT_MS = 10_000;

interface Node {
  id: string;
  port: number;
  master: boolean;
  masterId?: string;
  failed: boolean;
}

/** CLUSTER NODES as seen by the node on `port`. */
async function clusterNodes(port: number): Promise<Node[]> {
  const out = (await run('redis-cli', ['-p', String(port), 'cluster', 'nodes'], { timeout: 5000 })).stdout;
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, masterId] = line.split(' ');
      return {
        id,
        port: Number(addr.split(':')[1].split('@')[0]),
        master: flags.includes('master'),
        masterId: masterId === '-' ? undefined : masterId,
        failed: flags.includes('fail'),
      };
    });
}

/** Port of the master that owns `key`, asked of the node on `askPort`. */
async function masterPortOf(cluster: TestCluster, key: string): Promise<number> {
  const slot = (await cluster.client.cluster('KEYSLOT', key)) as unknown as number;
  const raw = (await cluster.client.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
  return raw.find(([a, b]) => slot >= a && slot <= b)![2][1];
}

interface Registration {
  itemId: string;
  userId: string;
  at: number;
  status: number;
  errorCode?: string;
  retryAfter?: string | null;
}

/** Registers users over HTTP from `clients` loops until `stop()`, round robin over `items`. */
function startLoad(apiUrl: string, items: string[], tag: string) {
  const results: Registration[] = [];
  let running = true;
  let seq = 0;
  const loop = async (c: number) => {
    while (running) {
      const itemId = items[seq++ % items.length];
      const userId = `${tag}u${c}x${seq}`;
      const at = Date.now();
      try {
        const res = await fetch(`${apiUrl}/api/v1/item/${itemId}/waiting-queue`, {
          method: 'POST',
          headers: { 'user-id': userId },
          signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
        });
        const body = (await res.json()) as { errorCode: string | null };
        results.push({
          itemId,
          userId,
          at,
          status: res.status,
          errorCode: body.errorCode ?? undefined,
          retryAfter: res.headers.get('retry-after'),
        });
      } catch (err) {
        results.push({ itemId, userId, at, status: 0, errorCode: (err as Error).name });
      }
      await sleep(20);
    }
  };
  const loops = Array.from({ length: LOAD_CLIENTS }, (_, c) => loop(c));
  return {
    results,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Samples each item's fence (the slot of its last admission tick) every 100 ms until `stop()`. */
function startFenceWatch(cluster: TestCluster, items: string[]) {
  const seen = new Map<string, { fence: number; at: number }[]>(items.map((i) => [i, []]));
  let running = true;
  // One loop per item: a read of a dead master's item may wait; the others go on.
  const done = Promise.all(
    items.map(async (itemId) => {
      const list = seen.get(itemId)!;
      while (running) {
        try {
          const f = await cluster.client.hget(keys.item(itemId), 'fence');
          if (f !== null && (list.length === 0 || list[list.length - 1].fence !== Number(f)))
            list.push({ fence: Number(f), at: Date.now() });
        } catch {
          // its master is down: nothing to see
        }
        await sleep(100);
      }
    }),
  );
  return {
    seen,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

interface Probe {
  what: string;
  status: number;
  body: string;
}

/** GETs `urls` every 300 ms until `stop()`, keeping every answer (status and body). */
function startProbes(urls: Record<string, string>) {
  const answers: Probe[] = [];
  let running = true;
  const done = Promise.all(
    Object.entries(urls).map(async ([what, url]) => {
      while (running) {
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
          answers.push({ what, status: res.status, body: await res.text() });
        } catch (err) {
          answers.push({ what, status: 0, body: (err as Error).message });
        }
        await sleep(300);
      }
    }),
  );
  return {
    answers,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** Largest gap between two consecutive ticks of `list` within [from, to], ms (fence values: Redis-clock slots). */
function largestTickGap(list: { fence: number; at: number }[], from: number, to: number): number {
  const inWindow = list.filter((e) => e.at >= from - TICK_MS && e.at <= to + TICK_MS);
  let gap = 0;
  for (let i = 1; i < inWindow.length; i++) gap = Math.max(gap, inWindow[i].fence - inWindow[i - 1].fence);
  return gap;
}

describe('Redis Cluster master failover under load (3 masters + 3 replicas)', () => {
  let cluster: TestCluster;
  let api: ServiceProcess;
  let scheduler: ServiceProcess;
  const itemsOf = new Map<number, string[]>(); // master port -> items
  let allItems: string[] = [];
  const report: string[] = [];
  let kills = 0;

  beforeAll(async () => {
    cluster = await startTestCluster(3, { replicasPerMaster: 1, nodeTimeoutMs: 2000 });
    const env = {
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      TOKEN_COUNT_TO_MOVE: '2',
      ENTRY_TTL_SECONDS: '3600',
      DEV_MODE: '1',
    };
    [api, scheduler] = await startServices([
      { name: 'api', env },
      { name: 'scheduler', env },
    ]);
    const masters = (await clusterNodes(cluster.nodes[0].port)).filter((n) => n.master).map((n) => n.port);
    for (const m of masters) itemsOf.set(m, []);
    for (let i = 0; [...itemsOf.values()].some((l) => l.length < ITEMS_PER_MASTER); i++) {
      const itemId = `f${i}`;
      const list = itemsOf.get(await masterPortOf(cluster, `{${itemId}}`))!;
      if (list.length < ITEMS_PER_MASTER) list.push(itemId);
    }
    allItems = [...itemsOf.values()].flat();
    for (const itemId of allItems) {
      const r = await upsertItem(scheduler.url, itemId, {
        itemName: itemId,
        remainCount: 1_000_000,
        waitingQueueEnabled: true,
      });
      expect(r.status).toBe(200);
    }
  }, 120_000);

  afterAll(async () => {
    // eslint-disable-next-line no-console
    console.log(`cluster failover report:\n${report.join('\n')}`);
    await Promise.all([api?.stop(), scheduler?.stop()]);
    await cluster?.stop();
  });

  /**
   * One kill -9 of the master on `victimPort` under load: returns the outage clients of its items saw and the
   * statuses by count; asserts the failover guarantees (docs/reliability.md).
   */
  async function killMaster(victimPort: number, label: string): Promise<void> {
    const topology = await clusterNodes(victimPort);
    const victim = topology.find((n) => n.port === victimPort)!;
    const replicaPort = topology.find((n) => n.masterId === victim.id)!.port;
    const victimItems = itemsOf.get(victimPort) ?? [];
    const healthyItems = allItems.filter((i) => !victimItems.includes(i));

    const load = startLoad(api.url, allItems, `k${++kills}`);
    const fences = startFenceWatch(cluster, allItems);
    const probes = startProbes({
      apiReady: `${api.url}/health/ready`,
      schedulerReady: `${scheduler.url}/health/ready`,
      apiMetrics: `${api.url}/metrics`,
      tokenCount: `${scheduler.url}/internal/admin/v1/waiting-queue/token-count`,
      overview: `${scheduler.url}/internal/admin/v1/overview`,
    });
    await sleep(2500); // load and ticks before the kill
    const idx = cluster.nodes.findIndex((n) => n.port === victimPort);
    const dead = cluster.nodes[idx];
    process.kill(dead.pid, 'SIGKILL');
    const killedAt = Date.now();
    let promotedAt = 0;
    for (const deadline = killedAt + 30_000; ;) {
      const role = (await run('redis-cli', ['-p', String(replicaPort), 'role'])).stdout.split('\n')[0];
      if (role === 'master') {
        promotedAt = Date.now();
        break;
      }
      if (Date.now() > deadline) throw new Error(`${label}: replica ${replicaPort} not promoted within 30 s`);
      await sleep(50);
    }
    await sleep(4000); // load and ticks after the promotion
    await load.stop();
    await fences.stop();
    await probes.stop();

    // Readiness stays 200 and names the dead node; the metric marks it down; the admin reads answer for the
    // other items and mark the dead master's items.
    const victimAddr = `127.0.0.1:${victimPort}`;
    const of = (what: string) => probes.answers.filter((a) => a.what === what);
    for (const what of ['apiReady', 'schedulerReady', 'apiMetrics', 'tokenCount', 'overview']) {
      expect({ what, statuses: [...new Set(of(what).map((a) => a.status))] }).toEqual({ what, statuses: [200] });
    }
    expect(of('apiReady').some((a) => (JSON.parse(a.body).redisNodesDown as string[]).includes(victimAddr))).toBe(true);
    expect(of('schedulerReady').some((a) => (JSON.parse(a.body).redisNodesDown as string[]).includes(victimAddr))).toBe(
      true,
    );
    expect(of('apiMetrics').some((a) => a.body.includes(`wq_redis_node_up{node="${victimAddr}"} 0`))).toBe(true);
    const marked = of('tokenCount').filter((a) =>
      (JSON.parse(a.body).data.currentWaitingQueueList as { itemId: string; unavailable?: boolean }[]).some(
        (e) => e.unavailable,
      ),
    );
    if (victimItems.length > 0) expect(marked.length).toBeGreaterThan(0);
    for (const a of marked) {
      const list = JSON.parse(a.body).data.currentWaitingQueueList as { itemId: string; unavailable?: boolean }[];
      expect(list.map((e) => e.itemId).sort()).toEqual([...allItems].sort());
      for (const e of list) if (e.unavailable) expect(victimItems).toContain(e.itemId);
    }
    const overviewMarked = of('overview').filter((a) => JSON.parse(a.body).data.unavailableItems !== undefined);
    if (victimItems.length > 0) expect(overviewMarked.length).toBeGreaterThan(0);
    for (const a of overviewMarked) {
      const data = JSON.parse(a.body).data as { items: { itemId: string }[]; unavailableItems: string[] };
      expect([...data.items.map((i) => i.itemId), ...data.unavailableItems].sort()).toEqual([...allItems].sort());
      for (const id of data.unavailableItems) expect(victimItems).toContain(id);
    }

    // The items of the killed master are admitted again within one tick of the promotion.
    let readmitMs = 0;
    for (const itemId of victimItems) {
      const next = fences.seen.get(itemId)!.find((e) => e.at > promotedAt);
      expect({ itemId, admittedAgainAfterMs: next ? next.at - promotedAt : null }).toEqual({
        itemId,
        admittedAgainAfterMs: expect.any(Number),
      });
      expect(next!.at - promotedAt).toBeLessThanOrEqual(TICK_MS + TICK_SLACK_MS);
      readmitMs = Math.max(readmitMs, next!.at - promotedAt);
    }
    // The other items are admitted every tick, through the failover.
    const gaps = healthyItems.map((itemId) => largestTickGap(fences.seen.get(itemId)!, killedAt, promotedAt + 1000));
    for (const g of gaps) expect(g).toBeLessThanOrEqual(TICK_MS + TICK_SLACK_MS);

    // No 5xx other than 503 (with Retry-After), no hang.
    const byStatus = new Map<string, number>();
    for (const r of load.results)
      byStatus.set(
        `${r.status}${r.errorCode ? ` ${r.errorCode}` : ''}`,
        (byStatus.get(`${r.status}${r.errorCode ? ` ${r.errorCode}` : ''}`) ?? 0) + 1,
      );
    for (const r of load.results) {
      expect([200, 503]).toContain(r.status);
      if (r.status === 503) expect(r.retryAfter).toBe('1');
    }
    const failedVictim = load.results.filter((r) => r.status !== 200 && victimItems.includes(r.itemId));
    const outageMs =
      failedVictim.length === 0
        ? 0
        : Math.max(...failedVictim.map((r) => r.at)) - Math.min(...failedVictim.map((r) => r.at));
    const failedHealthy = load.results.filter((r) => r.status !== 200 && healthyItems.includes(r.itemId)).length;

    // Every registration answered 200 is still queued; FIFO; never both waiting and admitted.
    for (const itemId of allItems) {
      const [waiting, entry] = await Promise.all([
        cluster.client.zrange(keys.waiting(itemId), 0, -1, 'WITHSCORES'),
        cluster.client.zrange(keys.admitted(itemId), 0, -1, 'WITHSCORES'),
      ]);
      const w = new Map<string, number>();
      const e = new Map<string, number>();
      for (let i = 0; i < waiting.length; i += 2) w.set(waiting[i], Number(waiting[i + 1]));
      for (let i = 0; i < entry.length; i += 2) e.set(entry[i], Number(entry[i + 1]));
      for (const u of w.keys()) expect(e.has(u)).toBe(false);
      if (w.size > 0 && e.size > 0) expect(Math.max(...e.values())).toBeLessThan(Math.min(...w.values()));
      const acked = load.results.filter((r) => r.itemId === itemId && r.status === 200);
      const lost = acked.filter((r) => !w.has(r.userId) && !e.has(r.userId));
      expect({ itemId, lost: lost.length }).toEqual({ itemId, lost: 0 });
    }
    report.push(
      `${label}: promotion ${promotedAt - killedAt} ms after the kill; outage for the killed master's items ${outageMs} ms; ` +
        `its items admitted again ${readmitMs} ms after the promotion; ` +
        `failed requests on other items ${failedHealthy}; largest tick gap of other items ${Math.max(...gaps)} ms; statuses ${JSON.stringify(Object.fromEntries(byStatus))}`,
    );

    // The killed node comes back as a replica of the promoted one (same port, same folder, same nodes.conf).
    const args = [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${victimPort}.conf`,
      '--cluster-node-timeout',
      '2000',
    ];
    cluster.nodes[idx] = await startEmbeddedRedis(args, victimPort, dead.dir);
    for (const deadline = Date.now() + 30_000; ;) {
      const info = (await run('redis-cli', ['-p', String(victimPort), 'info', 'replication'])).stdout;
      if (info.includes('role:slave') && info.includes('master_link_status:up')) break;
      if (Date.now() > deadline)
        throw new Error(`${label}: ${victimPort} did not come back as a synced replica within 30 s`);
      await sleep(100);
    }
    // Items now live on the promoted master.
    itemsOf.set(replicaPort, victimItems);
    itemsOf.delete(victimPort);
  }

  test('kill -9 of the master of the global keys, then of the run election key: the items of the other masters are admitted every tick', async () => {
    const globals = [keys.itemRegistry, keys.tokenCountToMove, keys.abandonAfterMs, keys.schedulerRun('x')];
    report.push(
      `global keys: ${(await Promise.all(globals.map(async (k) => `${k} on ${await masterPortOf(cluster, k)}`))).join('; ')}`,
    );
    await killMaster(await masterPortOf(cluster, keys.itemRegistry), 'master of wq:items, N and abandonment');
    await killMaster(await masterPortOf(cluster, keys.schedulerRun('x')), 'master of the run election key');
  }, 180_000);

  test(`kill -9 of an item's master, ${RUNS} runs: 503s only for its items, which are admitted again within one tick of the promotion`, async () => {
    const globalMasters = new Set(
      await Promise.all(
        [keys.itemRegistry, keys.tokenCountToMove, keys.schedulerRun('x')].map((k) => masterPortOf(cluster, k)),
      ),
    );
    for (let r = 0; r < RUNS; r++) {
      const masters = [...itemsOf.keys()];
      const victim = masters.find((m) => !globalMasters.has(m)) ?? masters[r % masters.length];
      await killMaster(victim, `run ${r + 1} (item master)`);
      globalMasters.clear();
      for (const p of await Promise.all(
        [keys.itemRegistry, keys.tokenCountToMove, keys.schedulerRun('x')].map((k) => masterPortOf(cluster, k)),
      ))
        globalMasters.add(p);
    }
  }, 600_000);
});

/**
 * The durability option: with DURABILITY_REPLICAS=1 every change waits for its replica (WAIT). The replica of a master
 * is frozen (SIGSTOP) 2 s before that master is kill -9'd, then let go on (SIGCONT) so that it is promoted with the
 * data it had when frozen. Every registration answered 200 must still be queued; those made during the freeze must have
 * answered 503 (the replica never acknowledged them).
 */
describe('durability option with a lagging replica (DURABILITY_REPLICAS=1)', () => {
  let cluster: TestCluster;
  let api: ServiceProcess;
  let scheduler: ServiceProcess;
  let frozenPid: number | undefined;
  const report: string[] = [];

  beforeAll(async () => {
    cluster = await startTestCluster(3, { replicasPerMaster: 1, nodeTimeoutMs: 2000 });
    const env = {
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      TOKEN_COUNT_TO_MOVE: '2',
      ENTRY_TTL_SECONDS: '3600',
      DEV_MODE: '1',
      DURABILITY_REPLICAS: process.env.CLUSTER_DURABILITY_REPLICAS ?? '1',
      DURABILITY_TIMEOUT_MS: '500',
    };
    [api, scheduler] = await startServices([
      { name: 'api', env },
      { name: 'scheduler', env },
    ]);
  }, 120_000);

  afterAll(async () => {
    // eslint-disable-next-line no-console
    console.log(`durability report:\n${report.join('\n')}`);
    if (frozenPid !== undefined) process.kill(frozenPid, 'SIGCONT');
    await Promise.all([api?.stop(), scheduler?.stop()]);
    await cluster?.stop();
  });

  test('every registration answered 200 survives the failover to a replica frozen for 2 s; those of the freeze answered 503', async () => {
    const items = Array.from({ length: 6 }, (_, i) => `d${i}`);
    for (const itemId of items) {
      expect(
        (
          await upsertItem(scheduler.url, itemId, {
            itemName: itemId,
            remainCount: 1_000_000,
            waitingQueueEnabled: true,
          })
        ).status,
      ).toBe(200);
    }
    const victimPort = await masterPortOf(cluster, `{${items[0]}}`);
    const topology = await clusterNodes(victimPort);
    const victim = topology.find((n) => n.port === victimPort)!;
    const replicaPort = topology.find((n) => n.masterId === victim.id)!.port;
    const replica = cluster.nodes.find((n) => n.port === replicaPort)!;
    const victimItems: string[] = [];
    for (const itemId of items)
      if ((await masterPortOf(cluster, `{${itemId}}`)) === victimPort) victimItems.push(itemId);

    const load = startLoad(api.url, items, 'dur');
    await sleep(2000);
    frozenPid = replica.pid;
    process.kill(replica.pid, 'SIGSTOP');
    const frozenAt = Date.now();
    await sleep(2000);
    const victimNode = cluster.nodes.find((n) => n.port === victimPort)!;
    process.kill(victimNode.pid, 'SIGKILL');
    const killedAt = Date.now();
    process.kill(replica.pid, 'SIGCONT');
    frozenPid = undefined;
    let promotedAt = 0;
    for (const deadline = killedAt + 60_000; ;) {
      const role = (await run('redis-cli', ['-p', String(replicaPort), 'role'])).stdout.split('\n')[0];
      if (role === 'master') {
        promotedAt = Date.now();
        break;
      }
      if (Date.now() > deadline) throw new Error(`replica ${replicaPort} not promoted within 60 s`);
      await sleep(50);
    }
    await sleep(3000);
    await load.stop();

    for (const r of load.results) expect([200, 503]).toContain(r.status);
    // Registrations of the frozen replica's items sent during the freeze: never 200.
    const duringFreeze = load.results.filter(
      (r) => victimItems.includes(r.itemId) && r.at >= frozenAt + 50 && r.at < killedAt,
    );
    expect(duringFreeze.length).toBeGreaterThan(0);
    expect(duringFreeze.filter((r) => r.status === 200)).toEqual([]);
    // Every registration answered 200 is still queued (waiting or admitted).
    let acked = 0;
    for (const itemId of items) {
      const [waiting, entry] = await Promise.all([
        cluster.client.zrange(keys.waiting(itemId), 0, -1),
        cluster.client.zrange(keys.admitted(itemId), 0, -1),
      ]);
      const queued = new Set([...waiting, ...entry]);
      const ok = load.results.filter((r) => r.itemId === itemId && r.status === 200);
      acked += ok.length;
      expect({ itemId, lost: ok.filter((r) => !queued.has(r.userId)).length }).toEqual({ itemId, lost: 0 });
    }
    const byStatus: Record<string, number> = {};
    for (const r of load.results) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    const victimFailed = load.results.filter((r) => r.status !== 200 && victimItems.includes(r.itemId));
    report.push(
      `freeze 2 s, promotion ${promotedAt - killedAt} ms after the kill; outage for the killed master's items ` +
        `${victimFailed.length === 0 ? 0 : Math.max(...victimFailed.map((r) => r.at)) - Math.min(...victimFailed.map((r) => r.at))} ms; ` +
        `${duringFreeze.length} registrations during the freeze, all 503; ${acked} answered 200, all still queued; statuses ${JSON.stringify(byStatus)}`,
    );
  }, 180_000);
});
