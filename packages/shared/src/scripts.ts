import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LUA_CONSTANTS } from './lua-constants';
import type { RedisClient } from './redis';

/** Folder of the Lua scripts: `packages/shared/lua`, beside both `src/` and `dist/`. */
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
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || !/^[A-Za-z0-9_.]*$/.test(v)) throw new Error(`lua-constants.ts: ${name}.${k} is not a plain name and value`);
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
      return { command: `wq_${m[1].replace(/-/g, '_')}`, numberOfKeys: Number(m[2]), lua, sha: createHash('sha1').update(lua).digest('hex') };
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

/**
 * Runs a script: EVALSHA (its SHA-1 only on the wire), and on NOSCRIPT (a fresh or flushed server) one EVAL, which
 * also caches it on that server. On a Cluster, ioredis routes by the first key.
 *
 * Not ioredis's `defineCommand`: it remembers "loaded" per socket object, and auto-pipelining writes each batch
 * through a new pseudo-socket, so every batch re-sent the whole Lua text as EVAL (measured: about a fifth of the
 * api's CPU under load went to writing script bodies).
 * @throws the Redis error of the script, or a connection error (see isRedisUnavailable).
 */
export async function callScript<T>(redis: RedisClient, command: string, keys: string[], args: (string | number)[]): Promise<T> {
  const s = script(command);
  if (keys.length !== s.numberOfKeys) throw new Error(`${command} takes ${s.numberOfKeys} keys, got ${keys.length}`);
  try {
    return (await redis.evalsha(s.sha, keys.length, ...keys, ...args)) as T;
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return (await redis.eval(s.lua, keys.length, ...keys, ...args)) as T;
  }
}
