import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { Pool, type PoolClient } from 'pg';
import { parseEvent, type EventType, type ItemEvent } from '@waiting-queue/core/events';
import { type Logger } from '@waiting-queue/core/logger';

/** The ledger's tables. Idempotent: every write is keyed on the event id (or the reservation id). */
export const LEDGER_SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger_events (
  event_id    text PRIMARY KEY,
  type        text NOT NULL,
  item_id     text NOT NULL,
  occurred_at timestamptz NOT NULL,
  payload     jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS claims (
  event_id   text PRIMARY KEY REFERENCES ledger_events(event_id),
  item_id    text NOT NULL,
  user_id    text NOT NULL,
  claimed_at timestamptz NOT NULL,
  UNIQUE (item_id, user_id)
);
CREATE TABLE IF NOT EXISTS reservations (
  reservation_id text PRIMARY KEY,
  item_id        text NOT NULL,
  user_id        text,
  quantity       integer,
  status         text NOT NULL,
  updated_at     timestamptz NOT NULL,
  last_event_id  text NOT NULL
);
CREATE TABLE IF NOT EXISTS failed_events (
  event_id        text PRIMARY KEY,
  value           text NOT NULL,
  error           text NOT NULL,
  attempts        integer NOT NULL DEFAULT 1,
  next_attempt_at timestamptz NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
`;

/** Reservation event types and the status each one sets. */
const RESERVATION_STATUS: Partial<Record<EventType, string>> = {
  'reservation.created': 'PENDING',
  'reservation.confirmed': 'CONFIRMED',
  'reservation.cancelled': 'CANCELLED',
  'reservation.expired': 'EXPIRED',
};

/**
 * SQL rank of a reservation status column: PENDING 0, every settled status (CONFIRMED, CANCELLED, EXPIRED) 1. An
 * update applies only when it does not lower the rank, so a reservation never moves back to PENDING, whatever order
 * Kafka delivers its events in and whatever their times (a create and a confirm can share one millisecond); among
 * updates of one rank the later `at` wins.
 */
const STATUS_RANK_SQL = (column: string) => `(CASE ${column} WHEN 'PENDING' THEN 0 ELSE 1 END)`;

/** A payload field as a text column: strings as they are, other JSON values in their JSON form; absent: null. */
const str = (v: unknown) => (v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v));

/**
 * Writes one event in one transaction: the event row (ON CONFLICT DO NOTHING: a redelivered event changes
 * nothing), then its typed effect (claims row, reservation status).
 * @returns true when the event was new, false when it was already recorded.
 * @throws on database errors and on events that break a constraint (the caller records them as failed).
 */
export async function recordEvent(pool: Pool, e: ItemEvent): Promise<boolean> {
  const client: PoolClient = await pool.connect();
  try {
    await client.query('BEGIN');
    const ins = await client.query(
      'INSERT INTO ledger_events (event_id, type, item_id, occurred_at, payload) VALUES ($1, $2, $3, to_timestamp($4 / 1000.0), $5) ON CONFLICT (event_id) DO NOTHING',
      [e.id, e.type, e.itemId, e.at, JSON.stringify(e.payload)],
    );
    if (ins.rowCount === 0) {
      await client.query('ROLLBACK');
      return false;
    }
    const p = e.payload;
    if (e.type === 'claim.issued') {
      await client.query(
        'INSERT INTO claims (event_id, item_id, user_id, claimed_at) VALUES ($1, $2, $3, to_timestamp($4 / 1000.0))',
        [e.id, e.itemId, str(p.userId), e.at],
      );
    } else if (RESERVATION_STATUS[e.type] && p.reservationId) {
      await client.query(
        `INSERT INTO reservations (reservation_id, item_id, user_id, quantity, status, updated_at, last_event_id)
         VALUES ($1, $2, $3, $4, $5, to_timestamp($6 / 1000.0), $7)
         ON CONFLICT (reservation_id) DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at,
           last_event_id = EXCLUDED.last_event_id, user_id = COALESCE(EXCLUDED.user_id, reservations.user_id),
           quantity = COALESCE(EXCLUDED.quantity, reservations.quantity)
         WHERE ${STATUS_RANK_SQL('reservations.status')} < ${STATUS_RANK_SQL('EXCLUDED.status')}
            OR (${STATUS_RANK_SQL('reservations.status')} = ${STATUS_RANK_SQL('EXCLUDED.status')} AND reservations.updated_at <= EXCLUDED.updated_at)`,
        [
          str(p.reservationId),
          e.itemId,
          str(p.userId),
          p.quantity === undefined ? null : Number(p.quantity),
          RESERVATION_STATUS[e.type],
          e.at,
          e.id,
        ],
      );
    }
    await client.query('COMMIT');
    return true;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Settings of the ledger consumer. */
export interface LedgerOptions {
  databaseUrl: string;
  brokers: string[];
  topic: string;
  groupId: string;
  logger: Logger;
  /** Interval of the failed-event retry loop, milliseconds (default 5000). */
  retryIntervalMs?: number;
}

/**
 * The durable ledger: a kafkajs consumer group on `waiting-queue-events` that writes claims and reservations to
 * PostgreSQL, idempotently by event id. An event that cannot be written (a constraint, a bad payload) goes to
 * `failed_events` and is retried with backoff; if PostgreSQL itself is down, the message is not committed and
 * kafkajs redelivers it.
 */
export class Ledger {
  readonly pool: Pool;
  private consumer?: Consumer;
  private retryTimer?: NodeJS.Timeout;

  constructor(private readonly o: LedgerOptions) {
    this.pool = new Pool({ connectionString: o.databaseUrl, max: 4 });
    this.pool.on('error', (err) => o.logger.warn({ err: err.message }, 'ledger: idle PostgreSQL client error'));
  }

  /** Creates the tables if needed, then starts consuming and the retry loop. */
  async start(): Promise<void> {
    await this.pool.query(LEDGER_SCHEMA);
    const kafka = new Kafka({
      clientId: 'waiting-queue-ledger',
      brokers: this.o.brokers,
      logLevel: logLevel.ERROR,
      retry: { initialRetryTime: 300, retries: 10 },
    });
    this.consumer = kafka.consumer({
      groupId: this.o.groupId,
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000 },
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    await this.consumer.run({ eachMessage: async ({ message }) => this.handle(message.value?.toString('utf8') ?? '') });
    const every = this.o.retryIntervalMs ?? 5000;
    this.retryTimer = setInterval(() => void this.retryFailed().catch(() => undefined), every);
    this.o.logger.info({ topic: this.o.topic, groupId: this.o.groupId }, 'ledger consumer running');
  }

  /**
   * Handles one message value: records the event; on a per-event failure, parks it in `failed_events`.
   * @throws only when PostgreSQL is unreachable (so that the message is redelivered).
   */
  async handle(value: string): Promise<void> {
    let event: ItemEvent;
    try {
      event = parseEvent(value);
    } catch (err) {
      this.o.logger.warn(
        { value: value.slice(0, 200), err: (err as Error).message },
        'ledger: malformed event skipped',
      );
      return;
    }
    try {
      await recordEvent(this.pool, event);
    } catch (err) {
      if (isConnectionError(err)) throw err;
      await this.park(event.id, value, (err as Error).message);
    }
  }

  private async park(eventId: string, value: string, error: string): Promise<void> {
    this.o.logger.warn({ eventId, error }, 'ledger: event failed; parked for retry');
    await this.pool.query(
      `INSERT INTO failed_events (event_id, value, error, next_attempt_at) VALUES ($1, $2, $3, now() + interval '1 second')
       ON CONFLICT (event_id) DO UPDATE SET error = EXCLUDED.error, attempts = failed_events.attempts + 1,
         next_attempt_at = now() + make_interval(secs => least(300, power(2, failed_events.attempts)))`,
      [eventId, value, error],
    );
  }

  /** Retries the parked events that are due. @returns how many were written this time. */
  async retryFailed(): Promise<number> {
    const due = await this.pool.query<{ event_id: string; value: string }>(
      'SELECT event_id, value FROM failed_events WHERE next_attempt_at <= now() ORDER BY created_at LIMIT 100',
    );
    let done = 0;
    for (const row of due.rows) {
      try {
        await recordEvent(this.pool, parseEvent(row.value));
        await this.pool.query('DELETE FROM failed_events WHERE event_id = $1', [row.event_id]);
        done++;
      } catch (err) {
        if (isConnectionError(err)) throw err;
        await this.park(row.event_id, row.value, (err as Error).message);
      }
    }
    return done;
  }

  /** Stops consuming (commits what was processed) and closes the pool. */
  async stop(): Promise<void> {
    if (this.retryTimer) clearInterval(this.retryTimer);
    await this.consumer?.disconnect().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001', '08003'].includes(code) ||
    /terminat|Connection/i.test((err as Error)?.message ?? '')
  );
}
