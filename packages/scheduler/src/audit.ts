import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Request } from 'express';
import { keys } from '@waiting-queue/core/keys';
import { type RedisClient } from '@waiting-queue/core/redis';
import { callScript } from '@waiting-queue/core/scripts';

/** Entries the audit stream keeps, about (XADD MAXLEN ~). */
export const AUDIT_MAX_ENTRIES = 10_000;
/** Most entries one `GET /internal/admin/v1/audit` answers. */
export const AUDIT_MAX_LIMIT = 500;

/** What an admin change was. */
export type AuditAction =
  | 'token-count-to-move'
  | 'pause'
  | 'resume'
  | 'item-upsert'
  | 'item-enable'
  | 'item-disable'
  | 'restock'
  | 'fence-clear';

/** One admin change, as `GET /internal/admin/v1/audit` answers it. */
export interface AuditEntry {
  /** Stream entry id (`<ms>-<n>`): unique, in order. */
  id: string;
  /** When, epoch ms on the Redis clock (the stream id's time). */
  at: number;
  /** Which credential: `bearer:<first 12 hex of SHA-256 of the token>`, or `dev mode` (no ADMIN_TOKEN). */
  actor: string;
  action: AuditAction;
  /** The item changed; null for the global N. */
  itemId: string | null;
  /** State before and after: the fields the change touched (JSON values; null: absent). */
  before: unknown;
  after: unknown;
}

/**
 * Records one admin change in the audit trail (when one is configured): the credential comes from `req`'s headers,
 * `before`/`after` are the fields the change touched (JSON values; null: absent). Resolves once recorded.
 */
export type AuditRecorder = (
  req: Request,
  action: AuditAction,
  itemId: string | null,
  before: unknown,
  after: unknown,
) => Promise<void>;

/**
 * Which credential made an admin request: a hash prefix of its bearer token (never the token), or `dev mode` when
 * the admin API runs without ADMIN_TOKEN. Only called after bearerAuth accepted the request.
 */
export function auditActor(headers: IncomingHttpHeaders, adminToken: string | undefined): string {
  if (!adminToken) return 'dev mode';
  const m = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '');
  return `bearer:${createHash('sha256')
    .update(m ? m[1].trim() : '')
    .digest('hex')
    .slice(0, 12)}`;
}

/**
 * The admin audit trail: a bounded Redis STREAM (`wq:{admin}:audit`, XADD MAXLEN ~ {@link AUDIT_MAX_ENTRIES}) whose
 * entry ids carry Redis time, so "when" never comes from a host clock and two schedulers write one ordered trail.
 * A change to an item is also appended to that item's outbox as `admin.changed` (lua/admin-changed-2.lua), so it
 * reaches Kafka and the ledger; the global N has no item and is kept in the stream only.
 */
export class AuditLog {
  private readonly redis: RedisClient;

  constructor(o: { redis: RedisClient }) {
    this.redis = o.redis;
  }

  /**
   * Appends one entry. Called after the change succeeded.
   * @returns the stream entry id.
   * @throws the Redis error when it cannot be written.
   */
  async record(e: Omit<AuditEntry, 'id' | 'at'>): Promise<string> {
    if (e.itemId !== null) {
      await callScript<string | null>(
        this.redis,
        'wq_admin_changed',
        [keys.item(e.itemId), keys.outbox(e.itemId)],
        [e.actor, e.action, JSON.stringify(e.before ?? null), JSON.stringify(e.after ?? null), e.itemId],
      );
    }
    const id = await this.redis.xadd(
      keys.adminAudit,
      'MAXLEN',
      '~',
      AUDIT_MAX_ENTRIES,
      '*',
      'actor',
      e.actor,
      'action',
      e.action,
      'itemId',
      e.itemId ?? '',
      'before',
      JSON.stringify(e.before ?? null),
      'after',
      JSON.stringify(e.after ?? null),
    );
    return id as string;
  }

  /** The newest `limit` entries, newest first. */
  async list(limit: number): Promise<AuditEntry[]> {
    const rows = await this.redis.xrevrange(keys.adminAudit, '+', '-', 'COUNT', limit);
    return rows.map(([id, flat]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]] = flat[i + 1];
      return {
        id,
        at: Number(id.split('-')[0]),
        actor: f.actor,
        action: f.action as AuditAction,
        itemId: f.itemId || null,
        before: JSON.parse(f.before ?? 'null') as unknown,
        after: JSON.parse(f.after ?? 'null') as unknown,
      };
    });
  }
}
