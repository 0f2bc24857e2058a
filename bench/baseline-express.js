// Baseline: an express 5 hello-world, with the product's settings (x-powered-by and etag off).
const express = require('express');
const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.get('/', (req, res) =>
  res.json({ state: 'SUCCESS', errorCode: null, errorMessage: null, data: { hello: 'world' } }),
);
app.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
// Exit on SIGTERM through process.exit, so that a --cpu-prof profile is written.
process.on('SIGTERM', () => process.exit(0));
