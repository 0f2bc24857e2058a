/*
 * The waiting-room page (served by the api at /waiting-room/{itemId}). No framework, no build step.
 *
 * It registers the shopper (POST /api/v1/item/{itemId}/waiting-queue with the user-id header), then polls the
 * token (GET .../waiting-queue/{token}) when the server says (pollAfterMs). The token is kept in localStorage
 * under `wq:{itemId}:{userId}`, so a reload polls the same place instead of registering again; a 404/403 on that
 * poll (the place expired, was used, or belongs to someone else) registers again. Sold out, not open and unknown
 * items stop polling. A failed request (network down, 5xx, 429, queue full) retries with exponential backoff and
 * jitter (so a crowd that lost its connection together does not come back together), keeps the stored token, and
 * says so; the browser's `online` event retries at once. Once admitted it shows a link to the item's targetUrl
 * with ?waitingQueueToken= (and &entryPass= when the api signs one).
 *
 * The user id comes from the page's server-rendered config (the gateway's user-id header or cookie); without it
 * (the demo) the shopper types one, remembered in localStorage `wq:demo-user`.
 */
(function () {
  'use strict';

  var TEXT = {
    en: {
      eyebrow: 'Waiting room',
      loading: 'Loading…',
      userLabel: 'Your user id',
      userHint: 'Letters, digits and _ (demo: in a real shop, sign-in provides it).',
      userInvalid: 'Please enter 1 to 64 letters, digits or _.',
      join: 'Join the queue',
      queueTitle: 'Your place',
      rank: 'Your place in line',
      wait: 'Estimated wait',
      progress: 'Progress',
      progressValue: '{p}% of the way',
      continue: 'Continue to order',
      retry: 'Check again',
      switchUser: 'Use another user id',
      details: 'Details',
      detailUser: 'User',
      detailToken: 'Token',
      chooseUser: 'Enter your user id to join the queue',
      chooseUserMsg: 'You get a place in line; this page then updates by itself.',
      registering: 'Joining the queue…',
      waiting: 'You are in the queue',
      waitingMsg: 'Keep this page open: it updates by itself, and a reload keeps your place.',
      paused: 'Admission is paused',
      pausedMsg:
        'Nobody is being let in right now, so the wait is unknown. You keep your place; this page checks again by itself.',
      admitted: 'It is your turn!',
      admittedMsg: 'Continue to the order page before {time}.',
      admittedNoTarget: 'This item has no order page configured. Your token: {token}',
      soldOut: 'Sold out',
      soldOutMsg: 'Sorry, this item is sold out. The queue has stopped.',
      notOpen: 'Not open yet',
      notOpenMsg: 'The waiting room for this item is not open right now. Please check again later.',
      opensAtMsg: 'Opens at {time}. Keep this page open: it joins the queue by itself then.',
      direct: 'No waiting room',
      directMsg: 'This item does not use a waiting room: order it directly in the shop.',
      full: 'The waiting room is full',
      fullMsg: 'Too many people are waiting right now. Trying again in {s} s.',
      noItem: 'Item not found',
      noItemMsg: 'There is no waiting room for this item.',
      unauthorized: 'Please sign in',
      unauthorizedMsg: 'The shop could not tell who you are. Sign in, then reload this page.',
      offline: 'Connection problem',
      offlineMsg: 'The waiting room cannot be reached. Retrying in {s} s; you keep your place.',
      noNetwork: 'You are offline',
      noNetworkMsg:
        'Your device has no network connection. Retrying in {s} s, and as soon as it is back; you keep your place.',
      busy: 'Very busy',
      busyMsg: 'Too many requests right now. Retrying in {s} s; you keep your place.',
      unknownWait: 'Unknown',
      yourTurn: 'Your turn',
      now: 'Now',
      rankValue: '#{n}',
      lessThanMinute: 'about {n} s',
      minutes: 'about {n} min',
      hours: 'about {h} h {m} min',
    },
    ko: {
      eyebrow: '대기실',
      loading: '불러오는 중…',
      userLabel: '사용자 ID',
      userHint: '영문, 숫자, _ 만 쓸 수 있습니다 (데모: 실제 쇼핑몰에서는 로그인 정보로 정해집니다).',
      userInvalid: '영문, 숫자, _ 로 1~64자를 입력해 주세요.',
      join: '대기열 입장',
      queueTitle: '나의 순서',
      rank: '나의 대기 순번',
      wait: '예상 대기 시간',
      progress: '진행률',
      progressValue: '{p}% 진행',
      continue: '주문하러 가기',
      retry: '다시 확인',
      switchUser: '다른 사용자 ID 사용',
      details: '자세히',
      detailUser: '사용자',
      detailToken: '토큰',
      chooseUser: '대기열에 들어가려면 사용자 ID를 입력하세요',
      chooseUserMsg: '대기 순번을 받으면 이 페이지가 자동으로 갱신됩니다.',
      registering: '대기열에 들어가는 중…',
      waiting: '대기 중입니다',
      waitingMsg: '이 페이지를 열어 두세요. 자동으로 갱신되며, 새로고침해도 순서는 유지됩니다.',
      paused: '입장이 일시 중지되었습니다',
      pausedMsg:
        '지금은 입장이 멈춰 있어 대기 시간을 알 수 없습니다. 순서는 유지되며, 이 페이지가 자동으로 다시 확인합니다.',
      admitted: '입장 차례입니다!',
      admittedMsg: '{time}까지 주문 페이지로 이동해 주세요.',
      admittedNoTarget: '이 상품에는 주문 페이지가 설정되어 있지 않습니다. 나의 토큰: {token}',
      soldOut: '품절',
      soldOutMsg: '죄송합니다. 이 상품은 품절되어 대기열이 종료되었습니다.',
      notOpen: '아직 열리지 않았습니다',
      notOpenMsg: '이 상품의 대기실은 지금 열려 있지 않습니다. 나중에 다시 확인해 주세요.',
      opensAtMsg: '{time}에 열립니다. 이 페이지를 열어 두면 그때 자동으로 대기열에 들어갑니다.',
      direct: '대기실이 없습니다',
      directMsg: '이 상품은 대기실 없이 쇼핑몰에서 바로 주문할 수 있습니다.',
      full: '대기실이 가득 찼습니다',
      fullMsg: '지금 대기 중인 사람이 너무 많습니다. {s}초 후 다시 시도합니다.',
      noItem: '상품을 찾을 수 없습니다',
      noItemMsg: '이 상품의 대기실이 없습니다.',
      unauthorized: '로그인이 필요합니다',
      unauthorizedMsg: '사용자를 확인할 수 없습니다. 로그인한 뒤 이 페이지를 새로고침해 주세요.',
      offline: '연결 문제',
      offlineMsg: '대기실에 연결할 수 없습니다. {s}초 후 다시 시도합니다. 순서는 유지됩니다.',
      noNetwork: '오프라인 상태입니다',
      noNetworkMsg:
        '네트워크에 연결되어 있지 않습니다. {s}초 후, 또는 연결되는 즉시 다시 시도합니다. 순서는 유지됩니다.',
      busy: '요청이 많습니다',
      busyMsg: '지금 요청이 너무 많습니다. {s}초 후 다시 시도합니다. 순서는 유지됩니다.',
      unknownWait: '알 수 없음',
      yourTurn: '입장 가능',
      now: '지금',
      rankValue: '{n}번째',
      lessThanMinute: '약 {n}초',
      minutes: '약 {n}분',
      hours: '약 {h}시간 {m}분',
    },
  };

  var ID = /^[A-Za-z0-9_]{1,64}$/;
  var DEMO_USER_KEY = 'wq:demo-user';
  var lang =
    String(navigator.language || 'en')
      .toLowerCase()
      .indexOf('ko') === 0
      ? 'ko'
      : 'en';
  var dict = TEXT[lang];
  var numbers = new Intl.NumberFormat(lang === 'ko' ? 'ko-KR' : 'en');

  var cfg = JSON.parse(document.getElementById('wq-config').textContent);
  var base = '/api/v1/item/' + encodeURIComponent(cfg.itemId);
  var $ = function (id) {
    return document.getElementById(id);
  };
  var main = document.querySelector('main');

  var userId = cfg.userId || null;
  var fromGateway = Boolean(cfg.userId);
  var timer = 0;
  var failures = 0;
  var pending = null; // what the timer will do: 'poll' or 'start'
  var current = null; // the token being polled

  function t(key, vars) {
    var s = dict[key] || TEXT.en[key] || key;
    if (vars) for (var k in vars) s = s.split('{' + k + '}').join(String(vars[k]));
    return s;
  }

  function translate() {
    document.documentElement.lang = lang;
    var nodes = document.querySelectorAll('[data-i18n]');
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = t(nodes[i].getAttribute('data-i18n'));
    document.title = (cfg.item ? cfg.item.itemName : cfg.itemId) + ' · ' + t('eyebrow');
  }

  function storageGet(key) {
    try {
      return localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }
  function storageSet(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch (e) {
      /* private mode: the place is then kept only while the page is open */
    }
  }
  function placeKey() {
    return 'wq:' + cfg.itemId + ':' + userId;
  }
  function loadPlace() {
    try {
      return JSON.parse(storageGet(placeKey()) || 'null');
    } catch (e) {
      return null;
    }
  }

  /** The visible state: headline, message, the state attribute (styling, tests); focus moves on `focus`. */
  function show(state, headline, message, focus) {
    main.setAttribute('data-state', state);
    $('headline').textContent = headline;
    $('message').textContent = message || '';
    if (focus) $('headline').focus();
  }

  function stop() {
    clearTimeout(timer);
    timer = 0;
    pending = null;
  }

  function later(ms, what) {
    stop();
    pending = what;
    timer = setTimeout(function () {
      pending = null;
      if (what === 'poll') poll(current);
      else start();
    }, ms);
  }

  function request(method, url) {
    return fetch(url, {
      method: method,
      headers: { 'user-id': userId, accept: 'application/json' },
      cache: 'no-store',
      credentials: 'same-origin',
    }).then(
      function (res) {
        return res
          .json()
          .catch(function () {
            return null;
          })
          .then(function (body) {
            return { status: res.status, body: body, retryAfter: Number(res.headers.get('retry-after')) || 0 };
          });
      },
      function () {
        return { status: 0, body: null, retryAfter: 0 };
      },
    );
  }

  function start() {
    $('detail-user').textContent = userId;
    $('switch-user').hidden = fromGateway;
    var place = loadPlace();
    if (place && place.token) poll(place.token);
    else register();
  }

  function register() {
    if (!main.getAttribute('data-state') || main.getAttribute('data-state') === 'choose-user')
      show('registering', t('registering'));
    request('POST', base + '/waiting-queue').then(function (r) {
      handle('register', r);
    });
  }

  function poll(token) {
    current = token;
    request('GET', base + '/waiting-queue/' + encodeURIComponent(token)).then(function (r) {
      handle('poll', r);
    });
  }

  function handle(kind, r) {
    var body = r.body || {};
    if (r.status === 200 && body.state === 'SUCCESS') {
      failures = 0;
      main.removeAttribute('data-retry-ms');
      return onView(body.data);
    }
    var code = body.errorCode;
    if (r.status === 409 && code === 'ITEM_CANNOT_USE_WAITING_QUEUE') {
      var reason = body.data && body.data.reason;
      if (reason === 'SOLD_OUT') return finish('sold-out', 'soldOut', true);
      if (reason === 'DISABLED') return finish('closed', 'notOpen', true);
      if (reason === 'DIRECT') return direct();
      return finish('no-item', 'noItem', false);
    }
    if (r.status === 409 && code === 'ITEM_NOT_OPEN') return opensAt(body.data && body.data.opensAt);
    if (kind === 'poll' && (r.status === 404 || r.status === 403)) {
      // The stored place is gone (expired, used) or is not this user's: take a new one.
      storageSet(placeKey(), null);
      return register();
    }
    if (kind === 'register' && r.status === 400 && !fromGateway) return askUser(t('userInvalid'));
    if (r.status === 401) return finish('unauthorized', 'unauthorized', false);
    failures++;
    var key =
      r.status === 429
        ? 'busy'
        : code === 'QUEUE_FULL'
          ? 'full'
          : r.status === 0 && navigator.onLine === false
            ? 'noNetwork'
            : 'offline';
    var ms = backoffMs(failures, r.retryAfter * 1000, key === 'full' ? 10000 : 0);
    show('error', t(key), t(key + 'Msg', { s: Math.ceil(ms / 1000) }));
    main.setAttribute('data-retry-ms', String(ms));
    later(ms, 'start');
  }

  /**
   * Delay before retry number `n` (1, 2, ...), in ms: "equal jitter" on an exponential backoff, i.e. between half and
   * all of min(30 s, 2^n s), at least the server's Retry-After and `floorMs`.
   */
  function backoffMs(n, retryAfterMs, floorMs) {
    var cap = Math.min(30000, 1000 * Math.pow(2, Math.min(n, 15)));
    var ms = Math.round(cap / 2 + Math.random() * (cap / 2));
    return Math.max(ms, retryAfterMs || 0, floorMs || 0);
  }

  function onView(v) {
    var place = loadPlace();
    if (!place || place.token !== v.waitingQueueToken)
      place = { token: v.waitingQueueToken, firstRank: v.waitingQueueRank };
    storageSet(placeKey(), JSON.stringify(place));
    current = v.waitingQueueToken;
    $('detail-token').textContent = v.waitingQueueToken;
    if (v.canOrder) return admitted(v);
    if (v.soldOut) return finish('sold-out', 'soldOut', true);
    $('queue').hidden = false;
    $('order').hidden = true;
    $('retry').hidden = true;
    $('rank').textContent = t('rankValue', { n: numbers.format(v.waitingQueueRank) });
    var paused = v.estimatedWaitSeconds === null;
    $('wait').textContent = paused ? t('unknownWait') : formatWait(v.estimatedWaitSeconds);
    var first = Math.max(place.firstRank || 0, v.waitingQueueRank);
    progress(first > 0 ? Math.min(99, Math.round(((first - v.waitingQueueRank) / first) * 100)) : 0);
    if (paused) show('paused', t('paused'), t('pausedMsg'));
    else show('waiting', t('waiting'), t('waitingMsg'));
    later(Math.max(500, v.pollAfterMs || 1000), 'poll');
  }

  function admitted(v) {
    stop();
    $('queue').hidden = false;
    $('retry').hidden = true;
    $('rank').textContent = t('yourTurn');
    $('wait').textContent = t('now');
    progress(100);
    var expires = v.admissionExpiresAt
      ? new Date(v.admissionExpiresAt).toLocaleTimeString(lang === 'ko' ? 'ko-KR' : 'en')
      : '';
    // The current targetUrl (an operator may have set it after this page was rendered).
    request('GET', base).then(function (r) {
      var item = r.status === 200 && r.body && r.body.data ? r.body.data : cfg.item;
      var href = orderUrl(item && item.targetUrl, v);
      var link = $('order');
      if (href) {
        link.href = href;
        link.hidden = false;
        show('admitted', t('admitted'), t('admittedMsg', { time: expires }));
        link.focus();
      } else {
        show('admitted', t('admitted'), t('admittedNoTarget', { token: v.waitingQueueToken }), true);
      }
    });
  }

  /** targetUrl with ?waitingQueueToken= (and &entryPass=); null unless an http(s) URL. */
  function orderUrl(target, v) {
    if (!target) return null;
    try {
      var url = new URL(target);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
      url.searchParams.set('waitingQueueToken', v.waitingQueueToken);
      if (v.entryPass) url.searchParams.set('entryPass', v.entryPass);
      return url.toString();
    } catch (e) {
      return null;
    }
  }

  /** A terminal state: no more polling; `retry` offers a manual check. */
  function finish(state, key, retry) {
    stop();
    $('queue').hidden = true;
    $('order').hidden = true;
    $('retry').hidden = !retry;
    show(state, t(key), t(key + 'Msg'), true);
  }

  /** A time deal before its start: says when it opens, and tries once then (with jitter, so not all at once). */
  function opensAt(at) {
    finish('closed', 'notOpen', true);
    if (!(at > 0)) return;
    $('message').textContent = t('opensAtMsg', { time: new Date(at).toLocaleString(lang === 'ko' ? 'ko-KR' : 'en') });
    // setTimeout overflows past 2^31 ms: a deal days away is checked again after a day.
    later(Math.min(86400000, Math.max(1000, at - Date.now())) + Math.floor(Math.random() * 2000), 'start');
  }

  /** A DIRECT item (first-come claims, no queue): a link to the shop's page when one is configured. */
  function direct() {
    finish('closed', 'direct', false);
    var target = cfg.item && cfg.item.targetUrl;
    if (target && /^https?:/i.test(target)) {
      $('order').href = target;
      $('order').hidden = false;
    }
  }

  function progress(pct) {
    var bar = $('progress');
    bar.setAttribute('aria-valuenow', String(pct));
    bar.setAttribute('aria-valuetext', t('progressValue', { p: pct }));
    $('progress-bar').style.width = pct + '%';
  }

  function formatWait(seconds) {
    if (seconds < 60) return t('lessThanMinute', { n: numbers.format(Math.max(1, seconds)) });
    if (seconds < 3600) return t('minutes', { n: numbers.format(Math.ceil(seconds / 60)) });
    var minutes = Math.ceil(seconds / 60);
    return t('hours', { h: numbers.format(Math.floor(minutes / 60)), m: numbers.format(minutes % 60) });
  }

  function askUser(error) {
    stop();
    $('queue').hidden = true;
    $('order').hidden = true;
    $('retry').hidden = true;
    $('switch-user').hidden = true;
    $('user-form').hidden = false;
    show('choose-user', t('chooseUser'), t('chooseUserMsg'));
    var err = $('user-error');
    err.textContent = error || '';
    err.hidden = !error;
    var input = $('user-id');
    input.setAttribute('aria-invalid', error ? 'true' : 'false');
    if (userId && !input.value) input.value = userId;
    input.focus();
  }

  $('user-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var value = $('user-id').value.trim();
    if (!ID.test(value)) return askUser(t('userInvalid'));
    userId = value;
    storageSet(DEMO_USER_KEY, value);
    $('user-form').hidden = true;
    $('user-error').hidden = true;
    main.removeAttribute('data-state');
    start();
  });
  $('retry').addEventListener('click', function () {
    $('retry').hidden = true;
    show('registering', t('loading'));
    start();
  });
  $('switch-user').addEventListener('click', function () {
    storageSet(DEMO_USER_KEY, null);
    $('user-id').value = '';
    askUser();
  });
  // The network is back: retry now rather than at the end of the backoff (a little jitter spreads a crowd).
  window.addEventListener('online', function () {
    if (pending === 'start' && main.getAttribute('data-state') === 'error')
      later(Math.floor(Math.random() * 1000), 'start');
  });
  // Background tabs throttle timers: check at once when the shopper comes back.
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible' && pending === 'poll') later(0, 'poll');
  });

  translate();
  if (!cfg.item) {
    finish('no-item', 'noItem', false);
  } else if (userId) {
    start();
  } else {
    var remembered = storageGet(DEMO_USER_KEY);
    if (remembered && ID.test(remembered)) {
      userId = remembered;
      start();
    } else {
      askUser();
    }
  }
})();
