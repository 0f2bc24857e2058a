/*
 * The admin console (served by the scheduler at /admin). No framework, no build step.
 *
 * It polls GET /internal/admin/v1/overview every second (global N, and per item: the stored item, waiting and
 * admitted counts, admission rate, time to drain) and drives the admin API with `Authorization: Bearer <token>`
 * (the token is kept in sessionStorage; with DEV_MODE the API is open and no token is needed):
 *   PUT  /internal/admin/v1/waiting-queue/token-count-to-move        global N, pause (N = 0) and resume
 *   GET  /internal/admin/v1/waiting-item/{id}                         fresh item and its ETag before a per-item change
 *   POST /internal/admin/v1/waiting-item/{id}/manually                per-item N, enable/disable, create/edit; an
 *        update carries If-Match with the ETag of that GET, so a change made meanwhile answers 412 instead of
 *        being overwritten. Edit sends the stock only when the operator changed it (an explicit set, refused with
 *        412 when the stock moved since Edit, e.g. by claims); on 412 the form reloads the item and says so.
 *   POST /internal/admin/v1/waiting-item/{id}/restock {quantity}      restock: adds units (an upsert where absent)
 *   POST /internal/admin/v1/waiting-item/{id}/fence/clear             clears a stuck admission fence
 *   GET  /internal/admin/v1/history?itemId=                           the charts' last 15 minutes (server-side ring)
 *   GET  /internal/admin/v1/audit?limit=                              the "Recent changes" panel
 * Pause, disable and a stock set ask for confirmation in a <dialog>. A 400's `data.fields` (field -> message) is
 * shown next to each form field.
 * Every write carries an Idempotency-Key, the same one when the operator retries a write whose answer was lost.
 * The table's rows are built once per item and then only their text changes, so inputs keep focus and value.
 */
(function () {
  'use strict';

  var API = '/internal/admin/v1';
  var TOKEN_KEY = 'wq-admin-token';
  var RESUME_KEY = 'wq-admin:resume-n';
  var POLL_MS = 1000;
  var RATE_WINDOW_MS = 5000;

  var $ = function (id) {
    return document.getElementById(id);
  };
  var tbody = document.querySelector('#items tbody');
  var rows = {}; // itemId -> { tr, cells, samples: [{t, total}] }
  var last = null; // the last overview
  var timer = 0;

  function stored(key, value) {
    try {
      if (value === undefined) return localStorage.getItem(key);
      localStorage.setItem(key, value);
    } catch (e) {
      return null;
    }
    return value;
  }

  function token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || '';
    } catch (e) {
      return '';
    }
  }

  // Idempotency-Key of each write whose outcome is unknown (no answer reached the browser, or 503), by method, path,
  // body and If-Match: the operator's retry of the same write sends the same key, so a restock whose answer was lost
  // is not applied twice. Any other answer settles the write, and the next one gets a new key.
  var unsettledKeys = {};

  function newIdempotencyKey() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes); // also outside secure contexts, unlike crypto.randomUUID
    return Array.prototype.map
      .call(bytes, function (b) {
        return (b + 256).toString(16).slice(1);
      })
      .join('');
  }

  /**
   * Calls the admin API, with `If-Match: ifMatch` when given and an `Idempotency-Key` on writes (see unsettledKeys);
   * resolves to {data, etag} (the envelope's data and the ETag header, null when none), rejects with an Error
   * (status, code).
   */
  function request(method, path, body, ifMatch) {
    var headers = { accept: 'application/json' };
    var tk = token();
    if (tk) headers.authorization = 'Bearer ' + tk;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (ifMatch) headers['if-match'] = ifMatch;
    var write =
      method !== 'GET'
        ? method + ' ' + path + ' ' + JSON.stringify(body === undefined ? null : body) + ' ' + (ifMatch || '')
        : null;
    if (write !== null)
      headers['idempotency-key'] = unsettledKeys[write] || (unsettledKeys[write] = newIdempotencyKey());
    return fetch(API + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    }).then(function (res) {
      if (write !== null && res.status !== 503) delete unsettledKeys[write];
      return res
        .json()
        .catch(function () {
          return {};
        })
        .then(function (env) {
          if (res.ok && env.state === 'SUCCESS') return { data: env.data, etag: res.headers.get('etag') };
          var err = new Error(env.errorMessage || 'HTTP ' + res.status);
          err.status = res.status;
          err.code = env.errorCode;
          err.data = env.data || null;
          throw err;
        });
    });
  }

  /** Calls the admin API; resolves to the envelope's data, rejects with an Error (status, code). */
  function call(method, path, body) {
    return request(method, path, body).then(function (r) {
      return r.data;
    });
  }

  function notice(msg) {
    $('notice').textContent = msg;
    $('error').textContent = '';
  }
  function fail(err) {
    if (err.status === 401) return needToken(true);
    $('error').textContent = err.message;
  }

  function needToken(rejected) {
    clearTimeout(timer);
    $('auth-state').textContent =
      token() && rejected ? 'Token rejected: enter the admin token' : 'Enter the admin token';
    $('auth-state').className = 'auth-state bad';
    $('admin-token').focus();
  }

  function poll() {
    clearTimeout(timer);
    call('GET', '/overview').then(
      function (data) {
        $('auth-state').textContent = token() ? 'Signed in' : 'Open admin API (development mode)';
        $('auth-state').className = 'auth-state ok';
        render(data);
        renderHealth(data);
        renderChartChoices(data);
        loadSide();
        timer = setTimeout(poll, POLL_MS);
      },
      function (err) {
        if (err.status === 401) return needToken(true);
        $('error').textContent = 'Cannot read the overview: ' + err.message + ' (retrying)';
        timer = setTimeout(poll, POLL_MS * 3);
      },
    );
  }

  var fmt = new Intl.NumberFormat();
  function num(n) {
    return fmt.format(n);
  }
  function rate(r) {
    return (r >= 100 ? Math.round(r) : Math.round(r * 10) / 10) + '/s';
  }
  function duration(s) {
    if (s === 0) return '0 s';
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }

  function render(o) {
    last = o;
    var paused = o.tokenCountToMove === 0;
    $('global-n').textContent = num(o.tokenCountToMove);
    $('run-state').textContent = paused ? 'Paused' : 'Running';
    $('run-state').className = 'badge ' + (paused ? 'warn' : 'ok');
    $('tick').textContent = o.tickMs >= 1000 ? o.tickMs / 1000 + ' s' : o.tickMs + ' ms';
    var input = $('global-n-input');
    if (document.activeElement !== input && input.value === '') input.placeholder = String(o.tokenCountToMove);
    var resume = Number(stored(RESUME_KEY)) || 0;
    $('pause').textContent = paused ? 'Resume admission' + (resume ? ' (N = ' + resume + ')' : '') : 'Pause admission';
    $('pause').setAttribute('aria-pressed', paused ? 'true' : 'false');

    var seen = {};
    var waiting = 0;
    var admitted = 0;
    o.items.forEach(function (item, i) {
      seen[item.itemId] = true;
      waiting += item.waitingTokenCount;
      admitted += item.enteredTokenCount;
      var row = rows[item.itemId] || (rows[item.itemId] = buildRow(item.itemId));
      if (tbody.children[i] !== row.tr) tbody.insertBefore(row.tr, tbody.children[i] || null);
      updateRow(row, item, o);
    });
    Object.keys(rows).forEach(function (id) {
      if (!seen[id]) {
        tbody.removeChild(rows[id].tr);
        delete rows[id];
      }
    });
    $('total-waiting').textContent = num(waiting);
    $('total-admitted').textContent = num(admitted);
    $('empty').hidden = o.items.length > 0;
    $('updated').textContent =
      '· updated ' +
      new Date(o.serverTime).toLocaleTimeString() +
      (o.truncated ? ' · first ' + o.items.length + ' items' : '');
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function buildRow(id) {
    var tr = el('tr', { 'data-item-id': id });
    var c = {};
    var th = el('th', { scope: 'row' });
    c.id = el('span', { class: 'item-id' }, id);
    c.name = el('span', { class: 'item-name' });
    th.appendChild(c.id);
    th.appendChild(c.name);
    tr.appendChild(th);
    var labels = { enabled: 'Enabled', stock: 'Stock', waiting: 'Waiting', admitted: 'Admitted' };
    ['enabled', 'stock', 'waiting', 'admitted'].forEach(function (k) {
      c[k] = el('td', { class: k === 'enabled' ? 'enabled' : 'num ' + k, 'data-label': labels[k] });
      tr.appendChild(c[k]);
    });

    var nCell = el('td', { class: 'n', 'data-label': 'N' });
    c.n = el('span', { class: 'n-value' });
    var nForm = el('form', { class: 'mini-form', 'data-action': 'set-n' });
    var nInput = el('input', {
      type: 'number',
      min: '0',
      max: '1000000',
      step: '1',
      inputmode: 'numeric',
      'aria-label': 'N for item ' + id + ' (empty: global N)',
      class: 'n-input',
    });
    nForm.appendChild(nInput);
    nForm.appendChild(el('button', { type: 'submit' }, 'Set'));
    nForm.addEventListener('submit', function (e) {
      e.preventDefault();
      var v = nInput.value.trim();
      changeItem(
        id,
        { tokenCountToMove: v === '' ? null : Number(v) },
        v === '' ? 'uses the global N' : 'N = ' + v,
      ).then(function () {
        nInput.value = '';
      });
    });
    nCell.appendChild(c.n);
    nCell.appendChild(nForm);
    tr.appendChild(nCell);

    c.rate = el('td', { class: 'num rate', 'data-label': 'Admissions/s' });
    c.drain = el('td', { class: 'num drain', 'data-label': 'Time to drain' });
    tr.appendChild(c.rate);
    tr.appendChild(c.drain);

    var actionsCell = el('td', { class: 'actions-cell', 'data-label': 'Actions' });
    var actions = el('div', { class: 'actions' });
    c.toggle = el('button', { type: 'button', class: 'secondary toggle' });
    c.toggle.addEventListener('click', function () {
      var enable = c.toggle.getAttribute('data-enable') === '1';
      var go = function () {
        changeItem(id, { waitingQueueEnabled: enable }, enable ? 'enabled' : 'disabled');
      };
      if (enable) return go();
      confirmAction(
        'Disable item ' + id + '? Registration and admission stop for it until it is enabled again.',
        'Disable',
      ).then(function (ok) {
        if (ok) go();
      });
    });
    var rForm = el('form', { class: 'mini-form', 'data-action': 'restock' });
    var rInput = el('input', {
      type: 'number',
      min: '1',
      step: '1',
      required: '',
      inputmode: 'numeric',
      placeholder: '+units',
      'aria-label': 'Units to add to the stock of item ' + id,
      class: 'restock-input',
    });
    rForm.appendChild(rInput);
    rForm.appendChild(el('button', { type: 'submit' }, 'Restock'));
    rForm.addEventListener('submit', function (e) {
      e.preventDefault();
      restock(id, Number(rInput.value)).then(function () {
        rInput.value = '';
      });
    });
    var edit = el('button', { type: 'button', class: 'secondary edit' }, 'Edit');
    edit.addEventListener('click', function () {
      editItem(id);
    });
    actions.appendChild(c.toggle);
    actions.appendChild(rForm);
    actions.appendChild(edit);
    actionsCell.appendChild(actions);
    tr.appendChild(actionsCell);
    return { tr: tr, cells: c, samples: [] };
  }

  function updateRow(row, item, o) {
    var c = row.cells;
    c.name.textContent = item.itemName;
    c.enabled.textContent = item.waitingQueueEnabled ? 'Yes' : 'No';
    c.enabled.className = 'enabled ' + (item.waitingQueueEnabled ? 'ok' : 'bad');
    c.stock.textContent = num(item.remainCount);
    c.stock.className = 'num stock' + (item.remainCount <= 0 ? ' bad' : '');
    c.waiting.textContent = num(item.waitingTokenCount);
    c.admitted.textContent = num(item.enteredTokenCount);
    c.n.textContent =
      item.tokenCountToMove === null
        ? 'global (' + num(o.tokenCountToMove) + ')'
        : num(item.tokenCountToMove) + ' (item)';
    c.toggle.textContent = item.waitingQueueEnabled ? 'Disable' : 'Enable';
    c.toggle.setAttribute('data-enable', item.waitingQueueEnabled ? '0' : '1');
    c.toggle.setAttribute('aria-label', (item.waitingQueueEnabled ? 'Disable' : 'Enable') + ' item ' + item.itemId);

    // Actual admissions/s from the growth of admittedTotal over the last few seconds; capacity from the tick.
    var now = o.serverTime;
    row.samples.push({ t: now, total: item.admittedTotal });
    while (row.samples.length > 2 && now - row.samples[0].t > RATE_WINDOW_MS) row.samples.shift();
    var first = row.samples[0];
    var actual = now > first.t ? ((item.admittedTotal - first.total) * 1000) / (now - first.t) : null;
    c.rate.textContent = (actual === null ? '–' : rate(Math.max(0, actual))) + ' ';
    c.rate.appendChild(el('span', { class: 'sub' }, 'of ' + rate(item.admitRate)));
    c.drain.textContent =
      item.waitingTokenCount === 0
        ? '–'
        : item.drainSeconds === null
          ? 'never (not admitting)'
          : duration(item.drainSeconds);
  }

  /**
   * The "Fences and events" section: Redis time, the outbox relay's lag, and one warning with a "Clear fence"
   * button per item whose admission fence is stuck ahead of Redis time (every tick of it is refused).
   */
  function renderHealth(o) {
    $('redis-time').textContent = o.redisTime ? new Date(o.redisTime).toISOString() : '–';
    var relay = o.relay;
    $('relay-lag').textContent = !relay
      ? 'Outbox relay: not configured (KAFKA_BROKERS unset)'
      : 'Outbox relay lag: ' +
        num(relay.lagEntries) +
        ' events, ' +
        duration(Math.round(relay.lagSeconds)) +
        (relay.gaps ? ' · ' + num(relay.gaps) + ' gap(s) detected: see the logs' : '');
    $('relay-lag').className = relay && (relay.gaps || relay.lagEntries > 0) ? 'error' : 'sub';
    var errors = o.redisErrors || 0;
    $('redis-errors').textContent = errors
      ? 'Redis errors since this scheduler started: ' + num(errors) + ' (see the logs and wq_redis_errors_total)'
      : 'Redis errors: none';
    $('redis-errors').className = errors ? 'error' : 'sub';
    var list = $('fence-warnings');
    var stuck = o.items.filter(function (item) {
      return item.fenceStuck;
    });
    var ids = stuck.map(function (item) {
      return item.itemId;
    });
    if (list.getAttribute('data-ids') === ids.join(',')) return; // unchanged: keep the buttons (and their focus)
    list.setAttribute('data-ids', ids.join(','));
    list.textContent = '';
    stuck.forEach(function (item) {
      var li = el(
        'li',
        { class: 'error' },
        'Item ' +
          item.itemId +
          ': admission fence ' +
          new Date(item.fence).toISOString() +
          ' is ahead of Redis time; every tick is refused. ',
      );
      var btn = el('button', { type: 'button', 'aria-label': 'Clear the fence of item ' + item.itemId }, 'Clear fence');
      btn.addEventListener('click', function () {
        call('POST', '/waiting-item/' + encodeURIComponent(item.itemId) + '/fence/clear').then(function (d) {
          notice(d.cleared ? 'Fence of ' + item.itemId + ' cleared' : 'Fence of ' + item.itemId + ' was not stuck');
          poll();
        }, fail);
      });
      li.appendChild(btn);
      list.appendChild(li);
    });
  }

  function setGlobalN(n, what) {
    return call('PUT', '/waiting-queue/token-count-to-move', { tokenCountToMove: n }).then(function (d) {
      notice(what + ': global N = ' + d.tokenCountToMove);
      poll();
    }, fail);
  }

  /**
   * Upserts the item with `change` (fields, or a function of the stored item returning them) applied to its
   * current stored state, read right before, under If-Match with that read's ETag (412 when it changed meanwhile).
   * remainCount is left out unless `change` sets it, so the stored stock is kept atomically (a reservation between
   * the read and the write is not undone); stock changes through the restock endpoint.
   */
  function changeItem(id, change, what) {
    return request('GET', '/waiting-item/' + encodeURIComponent(id))
      .then(function (r) {
        var item = r.data;
        var body = { itemName: item.itemName, waitingQueueEnabled: item.waitingQueueEnabled };
        var fields = typeof change === 'function' ? change(item) : change;
        for (var k in fields) body[k] = fields[k];
        return request('POST', '/waiting-item/' + encodeURIComponent(id) + '/manually', body, r.etag);
      })
      .then(
        function () {
          notice('Item ' + id + ': ' + what);
          poll();
        },
        function (err) {
          if (err.status === 412) err.message = 'Item ' + id + ' changed meanwhile; nothing saved: try again';
          fail(err);
        },
      );
  }

  /** Adds `quantity` units through the restock endpoint (atomic; reopens a sold-out queue), else by an upsert. */
  function restock(id, quantity) {
    return call('POST', '/waiting-item/' + encodeURIComponent(id) + '/restock', { quantity: quantity }).then(
      function (d) {
        notice('Item ' + id + ': restocked +' + quantity + ', stock ' + d.remainCount);
        poll();
      },
      function (err) {
        if (err.status === 404 && err.code === 'NOT_FOUND') {
          return changeItem(
            id,
            function (item) {
              return { remainCount: item.remainCount + quantity };
            },
            'restocked +' + quantity,
          );
        }
        fail(err);
      },
    );
  }

  // The item the form edits: {id, etag, stock} of Edit's GET; null while the form creates an item.
  var editing = null;

  /** Loads the item into the form and remembers its ETag and stock (what Save compares against); rejects on error. */
  function loadItem(id) {
    return request('GET', '/waiting-item/' + encodeURIComponent(id)).then(function (r) {
      var item = r.data;
      editing = { id: item.itemId, etag: r.etag, stock: item.remainCount };
      $('f-id').value = item.itemId;
      $('f-name').value = item.itemName;
      $('f-stock').value = String(item.remainCount);
      $('f-n').value = item.tokenCountToMove === null ? '' : String(item.tokenCountToMove);
      $('f-max').value =
        item.maxActiveUsers === null || item.maxActiveUsers === undefined ? '' : String(item.maxActiveUsers);
      $('f-url').value = item.targetUrl || '';
      $('f-type').value = item.type || 'GENERAL';
      $('f-start').value = item.startAt ? localDateTime(item.startAt) : '';
      $('f-mode').value = item.queueMode || 'WAITING';
      $('f-lanes').value = (item.lanes || []).join(', ');
      $('f-maxwaiting').value = item.maxWaiting ? String(item.maxWaiting) : '';
      $('f-maxper').value = item.maxPerUser ? String(item.maxPerUser) : '';
      $('f-enabled').checked = item.waitingQueueEnabled;
      clearFieldErrors();
      $('f-name').focus();
    });
  }

  function editItem(id) {
    loadItem(id).catch(fail);
  }

  function optionalNumber(input) {
    var v = input.value.trim();
    return v === '' ? null : Number(v);
  }

  /**
   * Save: creates the item, or updates the one Edit loaded under If-Match with Edit's ETag. The stock goes only
   * when the operator changed it (an explicit set, refused if the stock moved since Edit); left alone, the stored
   * stock is kept, so claims and reservations made meanwhile stay counted. On 412 the form reloads the item.
   */
  $('item-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var id = $('f-id').value.trim();
    var edit = editing && editing.id === id ? editing : null;
    var stock = $('f-stock').value.trim();
    var body = {
      itemName: $('f-name').value.trim(),
      waitingQueueEnabled: $('f-enabled').checked,
      tokenCountToMove: optionalNumber($('f-n')),
      maxActiveUsers: optionalNumber($('f-max')),
      targetUrl: $('f-url').value.trim() || null,
      type: $('f-type').value,
      startAt: $('f-start').value ? new Date($('f-start').value).toISOString() : null,
      queueMode: $('f-mode').value,
      lanes: lanesOf($('f-lanes').value),
      maxWaiting: optionalNumber($('f-maxwaiting')),
      maxPerUser: optionalNumber($('f-maxper')),
    };
    if (!edit || stock !== String(edit.stock)) body.remainCount = Number(stock);
    clearFieldErrors();
    var stockSet = edit && body.remainCount !== undefined;
    (stockSet
      ? confirmAction(
          'Set the stock of ' +
            id +
            ' from ' +
            edit.stock +
            ' to ' +
            body.remainCount +
            '? This replaces the counted stock.',
          'Set stock',
        )
      : Promise.resolve(true)
    ).then(function (ok) {
      if (ok) save(id, edit, body);
    });
  });

  /** Sends the form's upsert; shows field errors of a 400, reloads the item on a 412. */
  function save(id, edit, body) {
    request('POST', '/waiting-item/' + encodeURIComponent(id) + '/manually', body, edit ? edit.etag : undefined).then(
      function (r) {
        editing = { id: id, etag: r.etag, stock: r.data.remainCount };
        $('f-stock').value = String(r.data.remainCount);
        notice('Item ' + id + ' saved');
        poll();
      },
      function (err) {
        if (err.status === 400 && err.data && err.data.fields) showFieldErrors(err.data.fields);
        if (err.status !== 412) return fail(err);
        loadItem(id).then(function () {
          $('notice').textContent = '';
          $('error').textContent =
            (edit ? 'Item ' + id + ' changed since Edit' : 'Item ' + id + ' already exists') +
            ' (' +
            err.message +
            '). Nothing was saved: the form now shows the current item, stock ' +
            $('f-stock').value +
            '. Check it and save again (Restock adds units).';
        }, fail);
      },
    );
  }
  $('item-form').addEventListener('reset', function () {
    editing = null;
    clearFieldErrors();
  });

  $('global-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var input = $('global-n-input');
    var n = Number(input.value);
    setGlobalN(n, 'Set').then(function () {
      input.value = '';
    });
  });

  $('pause').addEventListener('click', function () {
    if (!last) return;
    if (last.tokenCountToMove > 0) {
      var resumeN = last.tokenCountToMove;
      confirmAction(
        'Pause admission of every item? No one is admitted until you resume (N = ' + resumeN + ').',
        'Pause',
      ).then(function (ok) {
        if (!ok) return;
        stored(RESUME_KEY, String(resumeN));
        setGlobalN(0, 'Paused');
      });
    } else {
      var n = Number(stored(RESUME_KEY)) || Number($('global-n-input').value) || 10;
      setGlobalN(n, 'Resumed');
    }
  });

  $('token-form').addEventListener('submit', function (e) {
    e.preventDefault();
    try {
      sessionStorage.setItem(TOKEN_KEY, $('admin-token').value);
    } catch (err) {
      /* storage off: the token then lasts until reload */
    }
    $('admin-token').value = '';
    $('error').textContent = '';
    poll();
  });
  $('token-forget').addEventListener('click', function () {
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch (err) {
      /* ignore */
    }
    poll();
  });

  /** Opens the confirmation dialog; resolves true when the operator confirms, false on Cancel or Escape. */
  function confirmAction(text, okLabel) {
    var dialog = $('confirm');
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = okLabel;
    return new Promise(function (resolve) {
      dialog.returnValue = '';
      dialog.addEventListener(
        'close',
        function () {
          resolve(dialog.returnValue === 'ok');
        },
        { once: true },
      );
      dialog.showModal();
      $('confirm-cancel').focus();
    });
  }

  function pad(n) {
    return (n < 10 ? '0' : '') + n;
  }
  /** Epoch ms as the value of a datetime-local input, in the browser's time zone. */
  function localDateTime(ms) {
    var d = new Date(ms);
    return (
      d.getFullYear() +
      '-' +
      pad(d.getMonth() + 1) +
      '-' +
      pad(d.getDate()) +
      'T' +
      pad(d.getHours()) +
      ':' +
      pad(d.getMinutes()) +
      ':' +
      pad(d.getSeconds())
    );
  }
  function lanesOf(text) {
    var lanes = text
      .split(',')
      .map(function (l) {
        return l.trim();
      })
      .filter(Boolean);
    return lanes.length ? lanes : null;
  }

  // Field errors: the API's data.fields path -> the form input it belongs to.
  var FIELD_INPUTS = {
    itemName: 'f-name',
    remainCount: 'f-stock',
    type: 'f-type',
    startAt: 'f-start',
    queueMode: 'f-mode',
    lanes: 'f-lanes',
    tokenCountToMove: 'f-n',
    maxWaiting: 'f-maxwaiting',
    maxPerUser: 'f-maxper',
    maxActiveUsers: 'f-max',
    targetUrl: 'f-url',
  };
  Object.keys(FIELD_INPUTS).forEach(function (field) {
    var input = $(FIELD_INPUTS[field]);
    var span = el('span', { id: 'fe-' + field, class: 'field-error', 'aria-live': 'polite' });
    input.parentNode.insertBefore(span, input.nextSibling);
  });
  function clearFieldErrors() {
    Object.keys(FIELD_INPUTS).forEach(function (field) {
      $('fe-' + field).textContent = '';
      $(FIELD_INPUTS[field]).removeAttribute('aria-invalid');
    });
  }
  function showFieldErrors(fields) {
    Object.keys(fields).forEach(function (path) {
      var field = path.split('.')[0];
      if (!FIELD_INPUTS[field]) return;
      $('fe-' + field).textContent = fields[path];
      $(FIELD_INPUTS[field]).setAttribute('aria-invalid', 'true');
      $(FIELD_INPUTS[field]).setAttribute('aria-describedby', 'fe-' + field);
    });
  }

  // Charts (uPlot, served from node_modules by the scheduler) and the audit panel, read every SIDE_MS.
  var SIDE_MS = 2000;
  var sideAt = 0;
  var charts = null;
  function renderChartChoices(o) {
    var select = $('chart-item');
    var ids = o.items.map(function (i) {
      return i.itemId;
    });
    if (select.getAttribute('data-ids') === ids.join(',')) return;
    select.setAttribute('data-ids', ids.join(','));
    var chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    ids.forEach(function (id) {
      select.appendChild(el('option', { value: id }, id));
    });
    select.value = ids.indexOf(chosen) >= 0 ? chosen : '';
  }
  $('chart-item').addEventListener('change', function () {
    sideAt = 0;
    loadSide();
  });

  function makeChart(id, series, width) {
    var opts = {
      width: width,
      height: 180,
      series: [{}].concat(series),
      axes: [{}, { size: 60 }],
      legend: { show: true },
    };
    return new window.uPlot(
      opts,
      [[]].concat(
        series.map(function () {
          return [];
        }),
      ),
      $(id),
    );
  }
  function chartWidth() {
    var box = $('chart-queue').parentNode;
    return Math.max(200, Math.floor(box.clientWidth) - 4);
  }
  function drawCharts(h) {
    if (!window.uPlot) return;
    var w = chartWidth();
    if (!charts) {
      charts = {
        queue: makeChart(
          'chart-queue',
          [
            { label: 'Waiting', stroke: '#1d4ed8', width: 2 },
            { label: 'Admitted', stroke: '#15803d', width: 2 },
          ],
          w,
        ),
        rate: makeChart('chart-rate', [{ label: 'Admissions/s', stroke: '#c2410c', width: 2 }], w),
        tick: makeChart('chart-tick', [{ label: 'Tick ms', stroke: '#7c3aed', width: 2 }], w),
      };
    }
    var t = [],
      waiting = [],
      admitted = [],
      perSec = [],
      dur = [];
    h.samples.forEach(function (s) {
      t.push(s.at / 1000);
      waiting.push(s.waiting);
      admitted.push(s.admitted);
      perSec.push((s.moved * 1000) / h.tickMs);
      dur.push(s.tickDurationMs);
    });
    charts.queue.setData([t, waiting, admitted]);
    charts.rate.setData([t, perSec]);
    charts.tick.setData([t, dur]);
    ['chart-queue', 'chart-rate', 'chart-tick'].forEach(function (id) {
      $(id).setAttribute('data-points', String(t.length));
    });
    Object.keys(charts).forEach(function (k) {
      if (charts[k].width !== w) charts[k].setSize({ width: w, height: 180 });
    });
    $('chart-state').textContent = t.length ? t.length + ' ticks from the server' : 'No ticks recorded yet';
  }

  var ACTION_TEXT = {
    'token-count-to-move': 'Global N changed',
    pause: 'Admission paused',
    resume: 'Admission resumed',
    'item-upsert': 'Item saved',
    'item-enable': 'Item enabled',
    'item-disable': 'Item disabled',
    restock: 'Restocked',
    'fence-clear': 'Fence cleared',
  };
  function brief(v) {
    if (v === null || v === undefined) return '–';
    return Object.keys(v)
      .map(function (k) {
        var x = v[k];
        if (k === 'startAt' && typeof x === 'number') x = new Date(x).toISOString();
        return k + ' ' + (x === null ? '–' : typeof x === 'object' ? JSON.stringify(x) : x);
      })
      .join(', ');
  }
  function renderAudit(entries) {
    var list = $('audit-list');
    if (list.getAttribute('data-first') === (entries[0] ? entries[0].id : '')) return;
    list.setAttribute('data-first', entries[0] ? entries[0].id : '');
    list.textContent = '';
    entries.forEach(function (e) {
      var li = el('li', { 'data-action': e.action, 'data-item-id': e.itemId || '' });
      li.appendChild(el('time', { datetime: new Date(e.at).toISOString() }, new Date(e.at).toLocaleTimeString()));
      li.appendChild(
        el('strong', null, ' ' + (ACTION_TEXT[e.action] || e.action) + (e.itemId ? ' · ' + e.itemId : '') + ' '),
      );
      li.appendChild(el('span', { class: 'audit-change' }, brief(e.before) + ' → ' + brief(e.after)));
      li.appendChild(el('span', { class: 'sub' }, ' by ' + e.actor));
      list.appendChild(li);
    });
    $('audit-empty').hidden = entries.length > 0;
  }

  function loadSide() {
    var now = Date.now();
    if (now - sideAt < SIDE_MS) return;
    sideAt = now;
    var item = $('chart-item').value;
    call('GET', '/history' + (item ? '?itemId=' + encodeURIComponent(item) : '')).then(drawCharts, function () {
      $('chart-state').textContent = 'History unavailable';
    });
    call('GET', '/audit?limit=20').then(
      function (d) {
        renderAudit(d.entries);
      },
      function () {
        /* shown by the overview's error */
      },
    );
  }

  poll();
})();
