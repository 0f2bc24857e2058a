import type { IncomingMessage } from 'node:http';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { WqError, type RedisClient } from '@waiting-queue/shared';

/** A limit: `points` requests per `durationSeconds`; 0 points switches it off. */
export interface Limit {
  points: number;
  durationSeconds: number;
}

/**
 * Limits registrations per user and per client IP (rate-limiter-flexible on Redis, so the limit holds across all
 * api processes). Over a limit: 429 `TOO_MANY_REQUESTS` with `Retry-After` in seconds.
 */
export class RegistrationLimiter {
  private readonly perUser?: RateLimiterRedis;
  private readonly perIp?: RateLimiterRedis;

  constructor(redis: RedisClient, user: Limit, ip: Limit) {
    const make = (prefix: string, l: Limit) =>
      l.points > 0 ? new RateLimiterRedis({ storeClient: redis, keyPrefix: prefix, points: l.points, duration: l.durationSeconds }) : undefined;
    this.perUser = make('wq:rl:register:user', user);
    this.perIp = make('wq:rl:register:ip', ip);
  }

  /** True when at least one limit is on. */
  get enabled(): boolean {
    return Boolean(this.perUser || this.perIp);
  }

  /**
   * Counts one registration of `userId` from `ip`.
   * @throws WqError 429 `TOO_MANY_REQUESTS` (with `Retry-After`) over a limit; Redis errors as they come (503).
   */
  async consume(userId: string, ip: string | undefined): Promise<void> {
    try {
      await Promise.all([this.perUser?.consume(userId), ip ? this.perIp?.consume(ip) : undefined]);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        const retry = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        throw new WqError('TOO_MANY_REQUESTS', 'too many registrations; retry later', { 'Retry-After': String(retry) });
      }
      throw err;
    }
  }
}

/**
 * The client's IP: the first `X-Forwarded-For` entry when `trustProxy` (behind a known proxy or CDN), else the
 * socket's peer address.
 */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const xff = req.headers['x-forwarded-for'];
    const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress;
}
