import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** PostgreSQL server of the machine (trust auth on 127.0.0.1:5432); PG_ADMIN_URL overrides it. */
const ADMIN_URL = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database of the test's own on the machine's PostgreSQL. */
export interface TestDatabase {
  name: string;
  /** Connection string of the new database. */
  url: string;
  /** Drops it (terminating any connection left). */
  drop: () => Promise<void>;
}

/**
 * Creates a fresh database `wq_test_<random>` (never touching other databases) and returns its URL.
 * @throws when PostgreSQL is unreachable.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `wq_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
