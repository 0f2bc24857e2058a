#!/usr/bin/env node
/**
 * Seeds the demo items 1..DEMO_ITEMS (default 8) with DEMO_STOCK in stock (default 100) through the scheduler's
 * admin API, where they do not exist yet (existing items are kept), as `npm start` does for its own Redis.
 * Used by the `seed` service of docker-compose.yml, so that `npm run spike` works against a fresh stack.
 *
 * Environment: ADMIN_URL (default http://127.0.0.1:8081), ADMIN_TOKEN (bearer, when the admin API has one),
 * DEMO_ITEMS, DEMO_STOCK. Exit code 1 when an item can be neither read nor created.
 */
const adminUrl = (process.env.ADMIN_URL || 'http://127.0.0.1:8081').replace(/\/+$/, '');
const count = Number(process.env.DEMO_ITEMS || 8);
const stock = Number(process.env.DEMO_STOCK || 100);
const headers = { 'content-type': 'application/json' };
if (process.env.ADMIN_TOKEN) headers.authorization = `Bearer ${process.env.ADMIN_TOKEN}`;

async function seed(itemId) {
  const base = `${adminUrl}/internal/admin/v1/waiting-item/${itemId}`;
  const existing = await fetch(base, { headers });
  if (existing.ok) return 'kept';
  if (existing.status !== 404) throw new Error(`GET ${base}: HTTP ${existing.status} ${await existing.text()}`);
  const body = JSON.stringify({ itemName: `Demo item ${itemId}`, remainCount: stock, waitingQueueEnabled: true });
  const created = await fetch(`${base}/manually`, { method: 'POST', headers, body });
  if (!created.ok) throw new Error(`POST ${base}/manually: HTTP ${created.status} ${await created.text()}`);
  return 'seeded';
}

async function main() {
  const results = [];
  for (let i = 1; i <= count; i++) results.push(await seed(String(i)));
  const seeded = results.filter((r) => r === 'seeded').length;
  process.stdout.write(`demo items 1..${count}: ${seeded} seeded with ${stock} in stock, ${count - seeded} kept\n`);
}

main().catch((err) => {
  process.stderr.write(`seeding the demo items failed: ${err.message}\n`);
  process.exit(1);
});
