// @ts-check
// Floor of a poll answered from memory: a raw node:http server that sends, for every request, an answer of the
// poll's own shape and size (the SUCCESS envelope of a waiting place, with the token from the request's path) and
// does nothing else: no parsing, no token check, no telemetry, no framework. The product's poll above this is its
// own work; this above the raw baseline (a tiny answer to a tiny request) is the bigger request and answer the
// load generator and the kernel carry on the same two cores.
//
// WORK_US (default 0): busy-waits that many microseconds per request before answering, a stand-in for a handler's
// own work: the bench's "answer floor + 20 us of work" row shows what 20 us of server work costs in req/s on a box
// whose load generator shares the cores.
const http = require('node:http');

const WORK_NS = BigInt(Math.round(Number(process.env.WORK_US ?? '0') * 1000));

http
  .createServer((req, res) => {
    if (WORK_NS > 0n) for (const t0 = process.hrtime.bigint(); process.hrtime.bigint() - t0 < WORK_NS;);
    const url = req.url ?? '';
    const token = decodeURIComponent(url.slice(url.lastIndexOf('/') + 1));
    const body = JSON.stringify({
      state: 'SUCCESS',
      errorCode: null,
      errorMessage: null,
      data: {
        itemId: 'bench',
        waitingQueueToken: token,
        waitingQueueRank: 512,
        canOrder: false,
        estimatedWaitSeconds: 512,
        pollAfterMs: 30000,
        admissionExpiresAt: null,
        soldOut: false,
        entryPass: null,
      },
    });
    res.writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      'X-Request-Id': 'r0000001',
    });
    res.end(body);
  })
  .listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
// Exit on SIGTERM through process.exit, so that a --cpu-prof profile is written.
process.on('SIGTERM', () => process.exit(0));
