// Baseline: a raw node:http server answering a small JSON (same envelope size class as the product).
const http = require('node:http');
const body = JSON.stringify({ state: 'SUCCESS', errorCode: null, errorMessage: null, data: { hello: 'world' } });
http
  .createServer((req, res) => {
    res.writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  })
  .listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
// Exit on SIGTERM through process.exit, so that a --cpu-prof profile is written.
process.on('SIGTERM', () => process.exit(0));
