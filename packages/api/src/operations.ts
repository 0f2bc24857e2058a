import type { IncomingMessage } from 'node:http';
import { idempotentRequest } from '@waiting-queue/http/request-headers';
import { type ConsumeResult } from '@waiting-queue/http/views';
import { headerIdentity, type Identity } from './identity';
import { clientIp } from './rate-limit';
import type { ClaimView, StockService } from './stock';
import type { ValidationView, WaitingQueueView, WaitingRoom } from './waiting-room';

/**
 * The api's operations as the transports call them (express routes and the node:http fast path alike): each takes
 * the request (for identity and client IP) and the already-decoded path parameters, and resolves to the envelope's
 * `data`, or rejects with a WqError.
 */
export interface Operations {
  register(req: IncomingMessage, itemId: string): Promise<WaitingQueueView>;
  poll(req: IncomingMessage, itemId: string, token: string): Promise<WaitingQueueView>;
  /**
   * The same poll answered at once from the item's snapshot in this process (WaitingRoom.pollFromMemory), or
   * undefined when {@link poll} must answer it: the snapshot cannot rank the place, the input is not valid (poll
   * gives the error), or the userId needs a verification first (JWT mode). Never throws.
   */
  pollNow(req: IncomingMessage, itemId: string, token: string): WaitingQueueView | undefined;
  validate(req: IncomingMessage, itemId: string, token: string): Promise<ValidationView>;
  consume(req: IncomingMessage, itemId: string, token: string): Promise<ConsumeResult>;
  /**
   * A first-come claim on a DIRECT item: the userId comes from the identity (the `user-id` header or a verified
   * JWT); an Idempotency-Key is bound to it. Rejects with StockService.claim's WqErrors, 400 for a malformed
   * Idempotency-Key, or 401 in JWT mode.
   */
  claim(req: IncomingMessage, itemId: string): Promise<ClaimView>;
}

/** What {@link createOperations} binds together. */
export interface OperationsOptions {
  room: WaitingRoom;
  stock: StockService;
  /** Where userId and lane come from: the gateway's headers or a verified JWT. */
  identity: Identity;
  /**
   * Trusted proxy hops (TRUST_PROXY): the client IP is that many `X-Forwarded-For` entries from the right; 0: the
   * socket's peer address.
   */
  trustProxy: number;
  /** The api's warm-up (warmup.ts WarmUp): the requests it owns take the header identity and skip the rate limits. */
  warmup?: { owns(req: IncomingMessage): boolean };
}

/** Binds the waiting room and the stock service to an identity source (header or JWT) and the client-IP policy. */
export function createOperations({ room, stock, identity, trustProxy, warmup }: OperationsOptions): Operations {
  const isWarmup = (req: IncomingMessage) => warmup?.owns(req) === true;
  const identityOf = (req: IncomingMessage) => (isWarmup(req) ? headerIdentity : identity);
  const userOf = (req: IncomingMessage) => identityOf(req).userId(req.headers);
  return {
    register: async (req, itemId) => {
      // The lane comes with the userId: from the gateway's headers, or from the verified JWT (header ignored).
      const { userId, lane } = await identityOf(req).shopper(req.headers);
      return room.register(itemId, userId, { ip: clientIp(req, trustProxy), skipRateLimit: isWarmup(req), tier: lane });
    },
    poll: async (req, itemId, token) => room.poll(itemId, token, await userOf(req)),
    pollNow: (req, itemId, token) => {
      const userIdNow = identityOf(req).userIdNow;
      return userIdNow === undefined ? undefined : room.pollFromMemory(itemId, token, userIdNow(req.headers));
    },
    validate: (_req, itemId, token) => room.validate(itemId, token),
    // The Idempotency-Key names this consume of this token (order services share one bearer: no caller identity).
    consume: async (req, itemId, token) =>
      room.consume(itemId, token, idempotentRequest(req.headers, ['consume', itemId, token])),
    claim: async (req, itemId) => {
      const userId = await identity.userId(req.headers);
      return stock.claim(itemId, userId, idempotentRequest(req.headers, ['claim', itemId, userId]));
    },
  };
}
