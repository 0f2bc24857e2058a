/**
 * Errors the stores throw (ItemStore, QueueStore, ReservationStore, ClaimStore, the idempotency and script
 * helpers): domain facts, with no HTTP status or error code. The HTTP layer maps each one to its envelope
 * (errors.ts, `toWqError`).
 *
 * Like WqError they carry no stack trace: they are expected answers, not bugs.
 */
export abstract class StoreError extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = new.target.name;
  }
}

/** The Idempotency-Key of a write was recorded for another request (route, parameters, body or caller). */
export class IdempotencyKeyReusedError extends StoreError {
  constructor() {
    super('this Idempotency-Key was used for another request');
  }
}

/**
 * The store cannot answer for certain now, and a retry may succeed: the master of a key's slot is not known, or a
 * write was acknowledged by fewer replicas than required (it happened on the master and may or may not survive a
 * failover; retry with the same Idempotency-Key).
 */
export class StoreUnavailableError extends StoreError {}
