import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import express, { type RequestHandler } from 'express';
import { WqError } from '@waiting-queue/core/errors';
import { ID_CHARS, ID_PATTERN, requireId } from '@waiting-queue/core/ids';
import { type ItemStore, type WaitingItem } from '@waiting-queue/core/item-store';
import { type Logger } from '@waiting-queue/core/logger';
import { route } from '@waiting-queue/http/http';
import { apiRoutes } from '@waiting-queue/http/route-tables';
import { staticMount } from '@waiting-queue/http/routes';
import { type PublicItemView } from '@waiting-queue/http/views';
import { USER_ID_HEADER } from './identity';

/** Static files of the waiting-room page (CSS, JS), next to `src/` and `dist/`. */
export const PAGE_ASSETS_DIR = join(__dirname, '..', 'public');
/** URL prefix of {@link PAGE_ASSETS_DIR}. */
export const PAGE_ASSETS_PATH = staticMount(apiRoutes.waitingRoomAsset);

export type { PublicItemView };

/** What the page router needs. */
export interface PageOptions {
  items: ItemStore;
  logger: Logger;
}

/** Strict CSP: the page loads only its own CSS/JS and talks only to this origin. */
const PAGE_HEADERS: Record<string, string> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside `<script type="application/json">` (no `</script>`, no line separators). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The shopper's userId as the trusted gateway passes it: the `user-id` header, else a `user-id` cookie; null when
 * neither carries a valid id (the page then asks for one: demo mode).
 */
export function pageUserId(headers: IncomingHttpHeaders): string | null {
  const header = headers[USER_ID_HEADER];
  const candidates = [typeof header === 'string' ? header : undefined, cookieValue(headers.cookie, USER_ID_HEADER)];
  for (const c of candidates) if (c !== undefined && ID_PATTERN.test(c)) return c;
  return null;
}

function publicView(item: WaitingItem): PublicItemView {
  return {
    itemId: item.itemId,
    itemName: item.itemName,
    targetUrl: item.targetUrl ?? null,
    waitingQueueEnabled: item.waitingQueueEnabled,
    soldOut: item.remainCount <= 0,
  };
}

/**
 * The waiting-room page's HTML: the shell, with the item and the gateway's userId rendered into a JSON block that
 * `waiting-room.js` reads. `item` null: the page says the item does not exist and calls nothing.
 */
export function renderWaitingRoom(itemId: string, item: PublicItemView | null, userId: string | null): string {
  const name = item?.itemName || itemId;
  const config = scriptJson({ itemId, item, userId });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(name)} · Waiting room</title>
<link rel="stylesheet" href="${PAGE_ASSETS_PATH}/waiting-room.css">
<script type="application/json" id="wq-config">${config}</script>
<script src="${PAGE_ASSETS_PATH}/waiting-room.js" defer></script>
</head>
<body>
<main class="card" aria-labelledby="item-name">
  <p class="eyebrow" data-i18n="eyebrow">Waiting room</p>
  <h1 id="item-name">${escapeHtml(name)}</h1>

  <div id="state" class="state" role="status" aria-live="polite" aria-atomic="true">
    <h2 id="headline" tabindex="-1" data-i18n="loading">Loading…</h2>
    <p id="message"></p>
  </div>

  <form id="user-form" class="user-form" hidden novalidate>
    <label for="user-id" data-i18n="userLabel">Your user id</label>
    <input id="user-id" name="userId" type="text" inputmode="text" autocomplete="username" autocapitalize="off"
      spellcheck="false" maxlength="64" pattern="${ID_CHARS}" required aria-describedby="user-hint user-error">
    <p id="user-hint" class="hint" data-i18n="userHint">Letters, digits and _ (demo: the gateway normally provides it).</p>
    <p id="user-error" class="error" hidden></p>
    <button type="submit" class="button" data-i18n="join">Join the queue</button>
  </form>

  <section id="queue" class="queue" hidden aria-labelledby="queue-title">
    <h2 id="queue-title" class="visually-hidden" data-i18n="queueTitle">Your place</h2>
    <dl class="stats" aria-live="polite" aria-atomic="true">
      <div><dt data-i18n="rank">Your place in line</dt><dd id="rank">–</dd></div>
      <div><dt data-i18n="wait">Estimated wait</dt><dd id="wait">–</dd></div>
    </dl>
    <p id="progress-label" class="progress-label" data-i18n="progress">Progress</p>
    <div id="progress" class="progress" role="progressbar" aria-labelledby="progress-label"
      aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><div id="progress-bar" class="progress-bar"></div></div>
  </section>

  <div class="actions">
    <a id="order" class="button primary" hidden data-i18n="continue">Continue to order</a>
    <button id="retry" type="button" class="button" hidden data-i18n="retry">Check again</button>
    <button id="switch-user" type="button" class="link" hidden data-i18n="switchUser">Use another user id</button>
  </div>

  <details class="details">
    <summary data-i18n="details">Details</summary>
    <dl>
      <dt data-i18n="detailUser">User</dt><dd id="detail-user">–</dd>
      <dt data-i18n="detailToken">Token</dt><dd id="detail-token" class="mono">–</dd>
    </dl>
  </details>
  <noscript><p>This page needs JavaScript. / 이 페이지는 JavaScript가 필요합니다.</p></noscript>
</main>
</body>
</html>
`;
}

/** The page's express handlers, registered by app.ts under their routes of the api's table (routes.ts). */
export interface PageHandlers {
  /** `waitingRoomAsset`: static CSS and JS under {@link PAGE_ASSETS_PATH}. */
  waitingRoomAsset: RequestHandler;
  /** `getPublicItem`: {@link PublicItemView} in the envelope; 404 `WAITING_ITEM_NOT_FOUND`. */
  getPublicItem: RequestHandler;
  /** `waitingRoomPage`: the page; the 404 page for an unknown item; a 503 page while Redis is unreachable. */
  waitingRoomPage: RequestHandler;
}

/**
 * The shopper-facing page and its data, on the api's express app (not the fast path: neither is hot):
 * `GET /waiting-room/{itemId}`, `GET /api/v1/item/{itemId}` and `GET /waiting-room-assets/*`.
 */
export function createPageHandlers(o: PageOptions): PageHandlers {
  return {
    waitingRoomAsset: express.static(PAGE_ASSETS_DIR, { index: false, maxAge: '10m', fallthrough: true }),
    getPublicItem: route(async (req) => {
      const itemId = requireId(req.params.itemId, 'itemId');
      const item = await o.items.get(itemId);
      if (!item) throw new WqError('WAITING_ITEM_NOT_FOUND', `no waiting item ${itemId}`);
      return publicView(item);
    }),
    waitingRoomPage: async (req, res) => {
      const itemId = String(req.params.itemId);
      try {
        const item = ID_PATTERN.test(itemId) ? await o.items.get(itemId) : null;
        res
          .status(item ? 200 : 404)
          .set(PAGE_HEADERS)
          .send(renderWaitingRoom(itemId, item ? publicView(item) : null, pageUserId(req.headers)));
      } catch (err) {
        o.logger.warn({ err: (err as Error).message, itemId }, 'waiting-room page unavailable');
        res
          .status(503)
          .set({ ...PAGE_HEADERS, 'Retry-After': '5' })
          .send(
            '<!doctype html><meta charset="utf-8"><title>Waiting room</title><p>Temporarily unavailable, please reload in a few seconds. / 잠시 후 새로고침해 주세요.</p>',
          );
      }
    },
  };
}
