// @ts-check
// Floor of a poll (GET) and of a registration (POST) under the design's own rule: one Redis round trip per
// request, a single pipelined EVALSHA. A raw node:http server runs the poll's Lua script (status-5), or the
// registration's (register-5), through the product's Redis client and answers the place as a small JSON envelope.
// No id validation, no token HMAC, no telemetry, no load shedding, no framework: whatever a complete request costs
// above this is the product's own work; what this costs above the raw baseline is the Redis round trip (client CPU
// to write the command and parse the reply, redis-server's CPU, the extra wake-ups).
const http = require('node:http');
const { keys } = require('@waiting-queue/core/keys');
const { connectRedis } = require('@waiting-queue/core/redis');
const { script } = require('@waiting-queue/core/scripts');
const { apiRoutes } = require('@waiting-queue/http/route-tables');

async function main() {
  const redis = await connectRedis({ url: process.env.REDIS_URL }, 'bench-floor');
  const status = script('wq_status');
  const register = script('wq_register');
  for (const s of [status, register]) await redis.script('LOAD', s.lua);
  // The api's item routes begin with this prefix (the route table's register path up to its itemId).
  const prefix = apiRoutes.register.path.slice(0, apiRoutes.register.path.indexOf('{itemId}'));
  http
    .createServer((req, res) => {
      const url = req.url ?? '';
      const itemId = url.slice(prefix.length, url.indexOf('/', prefix.length));
      const k = [...keys.queue(itemId), keys.lastPoll(itemId)];
      const sha = req.method === 'POST' ? register.sha : status.sha;
      redis
        .evalsha(sha, 5, k[0], k[1], k[2], k[3], k[4], /** @type {string} */ (req.headers['user-id'] ?? ''), '', '')
        .then(
          (/** @type {any} */ raw) => {
            const body = JSON.stringify({
              state: 'SUCCESS',
              errorCode: null,
              errorMessage: null,
              data: { status: raw[0], rank: raw[2] },
            });
            res.writeHead(200, {
              'Content-Type': 'application/json; charset=utf-8',
              'Content-Length': Buffer.byteLength(body),
            });
            res.end(body);
          },
          (err) => {
            res.writeHead(500);
            res.end(String(err));
          },
        );
    })
    .listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
}
main();
// Exit on SIGTERM through process.exit, so that a --cpu-prof profile is written.
process.on('SIGTERM', () => process.exit(0));
