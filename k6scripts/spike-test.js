/**
 * k6 spike test of the waiting room: 50 virtual users ramp up in 1 s, hold 10 s, ramp down in 1 s. Each VU
 * iteration registers a new user in the waiting queue of a random item 1..8, polls the token at the server's
 * `pollAfterMs` until admitted (at most MAX_POLLS polls), then sleeps 3 s.
 *
 *   k6 run -e BASE_URL=http://localhost:8080 k6scripts/spike-test.js
 *
 * Environment (k6 -e): BASE_URL (default http://localhost:8080), ITEMS (default 8), MAX_POLLS (default 120).
 * The same scenario without k6, plus a FIFO check of the admissions: `npm run spike` (scripts/spike.js).
 */
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://localhost:8080').replace(/\/+$/, '');
const ITEMS = Number(__ENV.ITEMS || 8);
const MAX_POLLS = Number(__ENV.MAX_POLLS || 120);
const SLEEP_SECONDS = 3;

export const options = {
  scenarios: {
    spike: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: '1s', target: 50 },
        { duration: '10s', target: 50 },
        { duration: '1s', target: 0 },
      ],
      // Let a user who registered during the ramp-down be followed until admitted (k6's default is 30 s).
      gracefulRampDown: '60s',
      gracefulStop: '60s',
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<100'],
  },
};

const registered = new Counter('wq_registered');
const admitted = new Counter('wq_admitted');
const polls = new Counter('wq_polls');
/** 1 per registered user that was admitted, 0 per one that was not (max polls reached or the place was lost). */
const admissionRate = new Rate('wq_admission_rate');
const admissionWait = new Trend('wq_admission_wait', true);

/** A prefix of this run's user ids, so that runs against the same Redis never reuse a user. */
export function setup() {
  return { run: `k${Date.now().toString(36)}` };
}

function envelope(res) {
  try {
    return res.json();
  } catch (e) {
    return null;
  }
}

export default function (data) {
  const itemId = 1 + Math.floor(Math.random() * ITEMS);
  const userId = `${data.run}_vu${__VU}_${__ITER}`;
  const headers = { 'user-id': userId };

  const reg = http.post(`${BASE_URL}/api/v1/item/${itemId}/waiting-queue`, null, {
    headers,
    tags: { name: 'POST /api/v1/item/{itemId}/waiting-queue' },
  });
  const body = envelope(reg);
  const ok = check(reg, {
    'register: 200': (r) => r.status === 200,
    'register: token': () => Boolean(body && body.data && body.data.waitingQueueToken),
  });
  if (!ok) {
    sleep(1);
    return;
  }
  registered.add(1);
  const started = Date.now();
  const token = body.data.waitingQueueToken;
  let view = body.data;

  let n = 0;
  while (!view.canOrder && n < MAX_POLLS) {
    sleep(Math.max(view.pollAfterMs || 1000, 1) / 1000);
    n++;
    polls.add(1);
    const res = http.get(`${BASE_URL}/api/v1/item/${itemId}/waiting-queue/${token}`, {
      headers,
      tags: { name: 'GET /api/v1/item/{itemId}/waiting-queue/{token}' },
    });
    const polled = envelope(res);
    check(res, { 'poll: 200': (r) => r.status === 200 });
    if (res.status === 200 && polled && polled.data) {
      view = polled.data;
    } else if (res.status >= 400 && res.status < 500 && res.status !== 429) {
      break; // the place is gone (404) or the request is wrong: stop following this user
    } else {
      view = { canOrder: false, pollAfterMs: 1000 }; // transient (5xx, 429, network): poll again in a second
    }
  }

  admissionRate.add(Boolean(view.canOrder));
  if (view.canOrder) {
    admitted.add(1);
    admissionWait.add(Date.now() - started);
  }
  sleep(SLEEP_SECONDS);
}
