// @ts-check
// Writes the OpenAPI document both servers serve at /openapi.json (built from the route tables) to a file, for
// `npm run lint:openapi` (redocly) and other tools. Usage: node scripts/write-openapi.js <file>. Needs a build of
// packages/http (dist/).
'use strict';
const { mkdirSync, writeFileSync } = require('node:fs');
const { dirname } = require('node:path');
const { openApiJson } = require('@waiting-queue/http/openapi');

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/write-openapi.js <file>');
  process.exit(2);
}
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, openApiJson());
