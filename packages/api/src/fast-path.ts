import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Logger } from '@waiting-queue/core/logger';
import { failure } from '@waiting-queue/http/envelope';
import { bearerMatches, sendError, sendJson, sendSuccess } from '@waiting-queue/http/http';
import { setRoute, type RequestTelemetry } from '@waiting-queue/http/request-log';
import { apiRoutes } from '@waiting-queue/http/route-tables';
import { expressPath, pathRegExp } from '@waiting-queue/http/routes';
import type { Operations } from './operations';

/**
 * The hot routes (register, poll, order-service validation, and first-come claims, the spike of a coupon drop)
 * answered straight from node:http, before express.
 *
 * Why: `node --cpu-prof` of express 5 on these routes showed most of the CPU per request in express itself
 * (router layer matching and param decoding, the `req`/`res` prototype swap, body-parser's type checks, `res.json`
 * and `finalhandler`) rather than in our handler. Express stays the application's framework for every other route
 * and for anything unusual on a hot route: a request with a body, a trailing slash, HEAD, or a path that is not an
 * exact match falls through to express, which answers it exactly as before. The operations, their errors and the
 * envelope are the same functions express calls (Operations, sendSuccess/sendError), so both paths answer alike.
 */
// Exact matchers of the raw path, built once from the table's templates: one `([^/]+)` group per parameter.
const REGISTER = pathRegExp(apiRoutes.register);
const CLAIM = pathRegExp(apiRoutes.claim);
const POLL = pathRegExp(apiRoutes.poll);
const VALIDATE = pathRegExp(apiRoutes.validate);
// Route templates of the hot routes as express names them (the `route` label of the HTTP metrics).
const REGISTER_ROUTE = expressPath(apiRoutes.register);
const CLAIMS_ROUTE = expressPath(apiRoutes.claim);
const POLL_ROUTE = expressPath(apiRoutes.poll);
const VALIDATE_ROUTE = expressPath(apiRoutes.validate);

/** Decodes a path segment as express does; a malformed escape yields null (answered 400). */
function decode(segment: string): string | null {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** What the fast path needs; `internalToken` as in the express app. */
export interface FastPathOptions {
  ops: Operations;
  logger: Logger;
  internalToken?: string;
  /** Request telemetry (duration histogram, request log): ended here for every request the fast path answers. */
  telemetry?: RequestTelemetry;
  /** Answers first-come claims (`ops.claim`) when true; false: claims go to express. */
  claims?: boolean;
}

/**
 * Builds the fast-path handler.
 * @returns a function that answers the request and returns true, or returns false (untouched) for express.
 */
export function createFastPath(o: FastPathOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const telemetry = o.telemetry;
  const answer = (req: IncomingMessage, res: ServerResponse, work: Promise<unknown>, route: string) => {
    setRoute(req, route); // for sendError's log line, which names the route, never the URL
    work.then(
      (data) => {
        sendSuccess(res, data);
        telemetry?.end(req, res, route);
      },
      (err) => {
        sendError(res, err, o.logger, req);
        telemetry?.end(req, res, route);
      },
    );
    return true;
  };
  const badPath = (req: IncomingMessage, res: ServerResponse, route: string) => {
    sendJson(res, 400, failure('INVALID_PARAMETER', 'malformed request'));
    telemetry?.end(req, res, route);
    return true;
  };

  return (req, res) => {
    const method = req.method;
    if ((method !== 'GET' && method !== 'POST') || hasBody(req)) return false;
    const rawUrl = req.url ?? '';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    let m: RegExpExecArray | null;
    if (method === 'POST') {
      if ((m = REGISTER.exec(path))) {
        const itemId = decode(m[1]);
        if (itemId === null) return badPath(req, res, REGISTER_ROUTE);
        return answer(req, res, o.ops.register(req, itemId), REGISTER_ROUTE);
      }
      if (o.claims === true && (m = CLAIM.exec(path))) {
        const itemId = decode(m[1]);
        if (itemId === null) return badPath(req, res, CLAIMS_ROUTE);
        return answer(req, res, o.ops.claim(req, itemId), CLAIMS_ROUTE);
      }
      return false;
    }
    if ((m = POLL.exec(path))) {
      const itemId = decode(m[1]);
      const token = decode(m[2]);
      if (itemId === null || token === null) return badPath(req, res, POLL_ROUTE);
      // Most polls are answered from the item's snapshot in memory: at once, without a promise chain.
      const now = o.ops.pollNow(req, itemId, token);
      if (now !== undefined) {
        sendSuccess(res, now);
        telemetry?.end(req, res, POLL_ROUTE);
        return true;
      }
      return answer(req, res, o.ops.poll(req, itemId, token), POLL_ROUTE);
    }
    if ((m = VALIDATE.exec(path))) {
      if (!bearerMatches(req.headers.authorization, o.internalToken)) return false; // express answers the 401
      const itemId = decode(m[1]);
      const token = decode(m[2]);
      if (itemId === null || token === null) return badPath(req, res, VALIDATE_ROUTE);
      return answer(req, res, o.ops.validate(req, itemId, token), VALIDATE_ROUTE);
    }
    return false;
  };
}
