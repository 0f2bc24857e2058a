import type { IncomingMessage } from 'node:http';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { WqError } from '@waiting-queue/core/errors';
import { keys } from '@waiting-queue/core/keys';
import { type RedisClient } from '@waiting-queue/core/redis';

/** A limit: `points` requests per `durationSeconds`; 0 points switches it off. */
export interface Limit {
  points: number;
  durationSeconds: number;
}

/** What a {@link RegistrationLimiter} works with. */
export interface RegistrationLimiterOptions {
  /** Where the counters live (shared by all api processes). */
  redis: RedisClient;
  /** Registrations per user. */
  user: Limit;
  /** Registrations per client IP. */
  ip: Limit;
}

/**
 * Limits registrations per user and per client IP (rate-limiter-flexible on Redis, so the limit holds across all
 * api processes). Over a limit: 429 `TOO_MANY_REQUESTS` with `Retry-After` in seconds.
 */
export class RegistrationLimiter {
  private readonly perUser?: RateLimiterRedis;
  private readonly perIp?: RateLimiterRedis;

  constructor({ redis, user, ip }: RegistrationLimiterOptions) {
    const make = (prefix: string, l: Limit) =>
      l.points > 0
        ? new RateLimiterRedis({ storeClient: redis, keyPrefix: prefix, points: l.points, duration: l.durationSeconds })
        : undefined;
    this.perUser = make(keys.rateLimitRegisterUserPrefix, user);
    this.perIp = make(keys.rateLimitRegisterIpPrefix, ip);
  }

  /** True when at least one limit is on. */
  get enabled(): boolean {
    return Boolean(this.perUser || this.perIp);
  }

  /**
   * Charges one registration of `userId` from `ip` to both limits.
   * @throws WqError 429 `TOO_MANY_REQUESTS` (with `Retry-After`) over a limit; Redis errors as they come (503).
   */
  async charge(userId: string, ip: string | undefined): Promise<void> {
    try {
      await Promise.all([this.perUser?.consume(userId), ip ? this.perIp?.consume(ip) : undefined]);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        const retry = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        throw new WqError('TOO_MANY_REQUESTS', 'too many registrations; retry later', {
          headers: { 'Retry-After': String(retry) },
        });
      }
      throw err;
    }
  }
}

/**
 * The client's IP, as express's numeric `trust proxy` finds it: with `trustedHops` n > 0 (TRUST_PROXY, the api
 * behind n proxies of ours), the n-th `X-Forwarded-For` entry from the right: each of our proxies appends the
 * address it saw, so the entries further left were written by the client and prove nothing. When the header holds
 * fewer entries, the left-most one; without the header, the socket's peer. With 0, the socket's peer address.
 */
export function clientIp(req: IncomingMessage, trustedHops: number): string | undefined {
  const peer = req.socket.remoteAddress;
  if (trustedHops <= 0) return peer;
  const xff = req.headers['x-forwarded-for'];
  const raw = Array.isArray(xff) ? xff.join(',') : xff;
  if (!raw) return peer;
  const chain = raw
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (chain.length === 0) return peer;
  return chain[Math.max(0, chain.length - trustedHops)];
}
