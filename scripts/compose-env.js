#!/usr/bin/env node
// @ts-check
/**
 * `npm run compose:env`: writes the secrets docker-compose.yml needs into `.env` beside it (docker compose reads that
 * file), so that `docker compose up` runs outside development mode without anyone pasting keys by hand.
 *
 * Variables already in `.env` are kept (so running it again changes nothing, and a rotation is a hand edit, see
 * docs/configuration.md, "Rotating keys"); missing ones get fresh random values: ADMIN_TOKEN, INTERNAL_TOKEN,
 * TOKEN_SECRET (32 random bytes, hex) and ENTRY_PASS_PRIVATE_JWK (a new EC P-256 private JWK). Prints the names it
 * added, never the values. `.env` is in .gitignore: it holds secrets.
 */
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { generateKeyPairSync, randomBytes } = require('node:crypto');
const path = require('node:path');

const file = path.join(__dirname, '..', '.env');
const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
const has = (/** @type {string} */ name) => new RegExp(`^${name}=.+`, 'm').test(current);
const token = () => randomBytes(32).toString('hex');
const fresh = {
  ADMIN_TOKEN: token,
  INTERNAL_TOKEN: token,
  TOKEN_SECRET: token,
  // Single quotes: docker compose takes the JSON literally.
  ENTRY_PASS_PRIVATE_JWK: () =>
    `'${JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }))}'`,
};
const added = /** @type {(keyof typeof fresh)[]} */ (Object.keys(fresh)).filter((name) => !has(name));
if (added.length === 0) {
  process.stdout.write(`${file}: every secret is set already; nothing changed\n`);
} else {
  let text = current;
  for (const name of added) {
    const line = `${name}=${fresh[name]()}`;
    const blank = new RegExp(`^${name}=[ \\t]*$`, 'm'); // e.g. a copy of .env.example: filled in place
    if (blank.test(text)) text = text.replace(blank, () => line);
    else text = `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${line}\n`;
  }
  writeFileSync(file, text, { mode: 0o600 });
  process.stdout.write(`${file}: added ${added.join(', ')}\n`);
}
