import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisClient } from './redis';

/** Folder of the Lua scripts: `packages/shared/lua`, beside both `src/` and `dist/`. */
export const LUA_DIR = join(__dirname, '..', 'lua');

/** A Lua script read from `lua/<name>-<numKeys>.lua` with its `-- @include <snippet>` lines expanded. */
export interface LuaScript {
  /** ioredis command name, e.g. `wq_register` for `register-4.lua`. */
  command: string;
  numberOfKeys: number;
  lua: string;
}

function expandIncludes(source: string): string {
  return source.replace(/^-- @include (\S+)\s*$/gm, (_line, name: string) =>
    readFileSync(join(LUA_DIR, 'includes', `${name}.lua`), 'utf8'),
  );
}

/**
 * Reads every script of `lua/` once (the BullMQ layout: the file name carries the number of keys).
 * @throws when a file name does not end in `-<numKeys>.lua`.
 */
export function readScripts(): LuaScript[] {
  return readdirSync(LUA_DIR)
    .filter((f) => f.endsWith('.lua'))
    .map((file) => {
      const m = /^(.+)-(\d+)\.lua$/.exec(file);
      if (!m) throw new Error(`lua/${file}: expected <name>-<numKeys>.lua`);
      return {
        command: `wq_${m[1].replace(/-/g, '_')}`,
        numberOfKeys: Number(m[2]),
        lua: expandIncludes(readFileSync(join(LUA_DIR, file), 'utf8')),
      };
    });
}

let cached: LuaScript[] | undefined;

/**
 * Defines every script as a command on an ioredis client (Redis or Cluster). ioredis sends EVALSHA and falls
 * back to EVAL once when the server answers NOSCRIPT, so each script crosses the wire once per server.
 * Idempotent per client.
 */
export function defineScripts(redis: RedisClient): void {
  cached ??= readScripts();
  const marked = redis as RedisClient & { __wqScripts?: boolean };
  if (marked.__wqScripts) return;
  for (const s of cached) redis.defineCommand(s.command, { numberOfKeys: s.numberOfKeys, lua: s.lua });
  marked.__wqScripts = true;
}

/** Calls a script defined by {@link defineScripts}: `keys` then `args`. */
export function callScript<T>(redis: RedisClient, command: string, keys: string[], args: (string | number)[]): Promise<T> {
  const fn = (redis as unknown as Record<string, (...a: (string | number)[]) => Promise<T>>)[command];
  if (typeof fn !== 'function') throw new Error(`script ${command} is not defined on this client`);
  return fn.call(redis, ...keys, ...args);
}
