import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LUA_CONSTANTS } from './lua-constants';
import { Cluster, type Redis } from 'ioredis';
import { StoreUnavailableError } from './store-errors';
import type { RedisClient } from './redis';

/** Folder of the Lua scripts: `packages/core/lua`, beside both `src/` and `dist/`. */
export const LUA_DIR = join(__dirname, '..', 'lua');

/**
 * A Lua script read from `lua/<name>-<numKeys>.lua` with its `-- @include <snippet>` lines expanded and its
 * `-- @const NAME` lines replaced by `local NAME = <value>` from {@link LUA_CONSTANTS}.
 */
export interface LuaScript {
  /** Command name, e.g. `wq_register` for `register-5.lua`. */
  command: string;
  numberOfKeys: number;
  lua: string;
  /** SHA-1 of `lua`, as EVALSHA wants it. */
  sha: string;
}

/** Expands `-- @include <name>` lines with `lua/includes/<name>.lua`, recursively, each snippet once. */
function expandIncludes(source: string, seen = new Set<string>()): string {
  return source.replace(/^-- @include (\S+)\s*$/gm, (_line, name: string) => {
    if (seen.has(name)) return '';
    seen.add(name);
    return expandIncludes(readFileSync(join(LUA_DIR, 'includes', `${name}.lua`), 'utf8'), seen);
  });
}

/**
 * Replaces each `-- @const NAME` line with `local NAME = <value>` (lua-constants.ts), so that Lua and TypeScript
 * share one definition. @throws when NAME is not in {@link LUA_CONSTANTS}.
 */
function expandConstants(source: string, file: string): string {
  return source.replace(/^-- @const (\S+)\s*$/gm, (_line, name: string) => {
    const value = LUA_CONSTANTS[name];
    if (typeof value === 'number' && Number.isSafeInteger(value)) return `local ${name} = ${value}`;
    if (typeof value === 'object') {
      const fields = Object.entries(value).map(([k, v]) => {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || !/^[A-Za-z0-9_.]*$/.test(v))
          throw new Error(`lua-constants.ts: ${name}.${k} is not a plain name and value`);
        return `${k} = '${v}'`;
      });
      return `local ${name} = {${fields.join(', ')}}`;
    }
    throw new Error(`lua/${file}: no constant ${name} in lua-constants.ts`);
  });
}

/**
 * Reads every script of `lua/` (the BullMQ layout: the file name carries the number of keys).
 * @throws when a file name does not end in `-<numKeys>.lua`, or a script names an unknown constant.
 */
export function readScripts(): LuaScript[] {
  return readdirSync(LUA_DIR)
    .filter((f) => f.endsWith('.lua'))
    .map((file) => {
      const m = /^(.+)-(\d+)\.lua$/.exec(file);
      if (!m) throw new Error(`lua/${file}: expected <name>-<numKeys>.lua`);
      const lua = expandConstants(expandIncludes(readFileSync(join(LUA_DIR, file), 'utf8')), file);
      return {
        command: `wq_${m[1].replace(/-/g, '_')}`,
        numberOfKeys: Number(m[2]),
        lua,
        sha: createHash('sha1').update(lua).digest('hex'),
      };
    });
}

let table: Map<string, LuaScript> | undefined;

/** The script named `command`, read once per process. @throws when there is none. */
export function script(command: string): LuaScript {
  table ??= new Map(readScripts().map((s) => [s.command, s]));
  const s = table.get(command);
  if (!s) throw new Error(`no Lua script ${command} in ${LUA_DIR}`);
  return s;
}

/** Scripts that only read: no WAIT after them. */
const READ_ONLY_SCRIPTS = new Set(['wq_counts', 'wq_status', 'wq_status_batch', 'wq_idempotency_lookup']);

let durability = { replicas: 0, timeoutMs: 0 };

/**
 * Turns the durability option on (`replicas` > 0) or off (0): after every state-changing script, {@link callScript}
 * runs `WAIT replicas timeoutMs` on the node that ran it and fails with 503 unless that many replicas acknowledged.
 * @param replicas DURABILITY_REPLICAS; @param timeoutMs DURABILITY_TIMEOUT_MS, milliseconds.
 * @throws Error when `replicas` > 0 and `timeoutMs` is 0 (WAIT would block for ever), naming the variable.
 */
export function setDurability(replicas: number, timeoutMs: number): void {
  if (replicas > 0 && timeoutMs <= 0)
    throw new Error('DURABILITY_TIMEOUT_MS must be > 0 when DURABILITY_REPLICAS is set');
  durability = { replicas, timeoutMs };
}

/** CRC16-CCITT (XMODEM) of `s`'s UTF-8 bytes: Redis Cluster's key hash. */
function crc16(s: string): number {
  let crc = 0;
  for (const byte of Buffer.from(s)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The hash slot of `key` (its `{hash tag}` when it has a non-empty one), 0..16383. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(key) % 16384;
}

/**
 * `WAIT replicas timeoutMs` on the connection that ran the write to `key` (on a Cluster, the pooled connection to
 * the slot's master, the one auto-pipelining used), so that it covers that write.
 * @throws StoreUnavailableError (503 `SERVICE_UNAVAILABLE`) when fewer replicas acknowledged in time: the change happened on the
 * master and may or may not survive a failover; the caller retries with its Idempotency-Key.
 */
async function waitForReplicas(redis: RedisClient, key: string): Promise<void> {
  let node: Redis | Cluster = redis;
  if (redis instanceof Cluster) {
    const owner = redis.slots[keySlot(key)]?.[0];
    const found = redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
    if (!found) throw new StoreUnavailableError('the waiting room store is unavailable, retry shortly');
    node = found;
  }
  const acked = Number(await node.call('WAIT', durability.replicas, durability.timeoutMs));
  if (acked < durability.replicas) {
    throw new StoreUnavailableError(
      `the change was acknowledged by ${acked} of ${durability.replicas} replicas in time: it may or may not survive a failover; retry with the same Idempotency-Key`,
    );
  }
}

/**
 * Runs a script: EVALSHA (its SHA-1 only on the wire), and on NOSCRIPT (a fresh or flushed server) one EVAL, which
 * also caches it on that server. On a Cluster, ioredis routes by the first key.
 *
 * Not ioredis's `defineCommand`: it remembers "loaded" per socket object, and auto-pipelining writes each batch
 * through a new pseudo-socket, so every batch would re-send the whole Lua text as EVAL (about a fifth of the api's
 * CPU under load, writing script bodies).
 *
 * With the durability option on ({@link setDurability}), a state-changing script is followed by WAIT on its node.
 * A read-only script redirected with MOVED or ASK is sent once more.
 * @throws the Redis error of the script, or a connection error (see isRedisUnavailable); StoreUnavailableError (503) when the
 * durability option is on and too few replicas acknowledged.
 */
export async function callScript<T>(
  redis: RedisClient,
  command: string,
  keys: string[],
  args: (string | number)[],
): Promise<T> {
  const s = script(command);
  if (keys.length !== s.numberOfKeys) throw new Error(`${command} takes ${s.numberOfKeys} keys, got ${keys.length}`);
  const runOnce = async (): Promise<T> => {
    try {
      return (await redis.evalsha(s.sha, keys.length, ...keys, ...args)) as T;
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return (await redis.eval(s.lua, keys.length, ...keys, ...args)) as T;
    }
  };
  let reply: T;
  try {
    reply = await runOnce();
  } catch (err) {
    // A redirected read (MOVED/ASK: the node did not run it) is sent once more, after the slot map was reloaded
    // (one reload for all the reads that wait on it). A write is never sent again: its caller answers 503 and
    // the client retries with its Idempotency-Key.
    if (!READ_ONLY_SCRIPTS.has(command) || !(err instanceof Error) || !/^(MOVED|ASK) /.test(err.message)) throw err;
    if (redis instanceof Cluster) await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
    reply = await runOnce();
  }
  if (durability.replicas > 0 && !READ_ONLY_SCRIPTS.has(command)) await waitForReplicas(redis, keys[0]);
  return reply;
}
