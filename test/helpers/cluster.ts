import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { freePort, startEmbeddedRedis, type EmbeddedRedis } from '@waiting-queue/testkit/embedded-redis';

const run = promisify(execFile);

/** A real Redis Cluster of the test's own: `masters` redis-server processes on loopback, and their replicas. */
export interface TestCluster {
  /** Masters first, then replicas (as `redis-cli --cluster create` was given them). */
  nodes: EmbeddedRedis[];
  /** `127.0.0.1:port,…`, the form REDIS_CLUSTER_NODES takes. */
  nodesEnv: string;
  client: Cluster;
  /** Quits the client and stops every node by pid. */
  stop: () => Promise<void>;
}

/** Options of {@link startTestCluster}. */
export interface TestClusterOptions {
  /** Replicas of each master (default 0). */
  replicasPerMaster?: number;
  /** `cluster-node-timeout`, ms: how long a master may be unreachable before its replica is promoted (default 5000). */
  nodeTimeoutMs?: number;
}

/**
 * Starts `masters × (1 + replicasPerMaster)` redis-servers with `--cluster-enabled yes` on free ports, joins them
 * with `redis-cli --cluster create … --cluster-replicas r --cluster-yes`, and waits until CLUSTER INFO says ok on
 * every node and every replica's link to its master is up.
 * @throws when redis-cli is missing or the cluster does not form within 30 s.
 */
export async function startTestCluster(masters = 3, opts: TestClusterOptions = {}): Promise<TestCluster> {
  const replicas = opts.replicasPerMaster ?? 0;
  const nodeTimeout = String(opts.nodeTimeoutMs ?? 5000);
  const nodes: EmbeddedRedis[] = [];
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      // Cluster bus port = port + 10000: pick ports whose bus port is free too (both checked just now).
      let port = await freePort();
      while (port > 55_000) port = await freePort();
      nodes.push(
        await startEmbeddedRedis(
          [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--cluster-node-timeout',
            nodeTimeout,
          ],
          port,
        ),
      );
    }
    const addrs = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', String(replicas), '--cluster-yes'], {
      timeout: 30_000,
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const infos = await Promise.all(
        nodes.map((n) => run('redis-cli', ['-p', String(n.port), 'cluster', 'info']).then((r) => r.stdout)),
      );
      const repl = await Promise.all(
        nodes.map((n) => run('redis-cli', ['-p', String(n.port), 'info', 'replication']).then((r) => r.stdout)),
      );
      const synced = repl.every((s) => !s.includes('role:slave') || s.includes('master_link_status:up'));
      const slaves = repl.filter((s) => s.includes('role:slave')).length;
      if (infos.every((s) => s.includes('cluster_state:ok')) && synced && slaves === masters * replicas) break;
      if (Date.now() > deadline) throw new Error(`cluster not ok after 30 s:\n${infos.join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const client = new Cluster(nodes.map((n) => ({ host: '127.0.0.1', port: n.port })));
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
    });
    return {
      nodes,
      nodesEnv: addrs.join(','),
      client,
      stop: async () => {
        client.disconnect();
        await Promise.all(nodes.map((n) => n.stop()));
      },
    };
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
}
