// @ts-check
/**
 * A lean keep-alive HTTP/1.1 client for GETs, for a load generator that shares two cores with the server it
 * measures: `connections` sockets, at most `depth` requests in flight on each (pipelined), the requests of one
 * event-loop turn written to each socket in one write, answers parsed only as far as status, Content-Length and
 * body (the api always sends Content-Length). Measured against bench/baseline-raw.js on this machine: undici's
 * Pool.request cost the client 28-40 µs of CPU per request (Pool.dispatch with a bare handler 28 µs), which at the
 * tens of thousands of polls per second of a million waiting users is more than a core of the two, measuring the
 * load generator instead of the product; this costs about a quarter of that (see docs/performance.md).
 */
const net = require('node:net');

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * @callback Answer
 * @param {number} status the HTTP status; 0 when the request failed (its socket closed, erred or timed out).
 * @param {string} body the body (utf8), or the error's description when status is 0.
 * @returns {void}
 */

class Connection {
  /**
   * @param {number} port
   * @param {string} host
   * @param {(c: Connection, n: number) => void} onFree called when `n` answers (or failures) free places in this
   *   connection's pipeline.
   * @param {(c: Connection) => void} onUp called when it has connected again after a failure.
   */
  constructor(port, host, onFree, onUp) {
    this.port = port;
    this.host = host;
    this.onFree = onFree;
    this.onUp = onUp;
    /** Failed, and connecting again in a moment: takes no requests. */
    this.down = false;
    /** Answers awaited, in order; each with the time its request was written (performance.now()). */
    /** @type {{answer: Answer, sentAt: number}[]} */
    this.pending = [];
    /** @type {string[]} */
    this.out = [];
    /** @type {Buffer | null} */
    this.buf = null;
    this.flushQueued = false;
    this.closed = false;
    /** Whether the client lists it among the connections with room. */
    this.listed = false;
    this.socket = this.connect();
  }

  connect() {
    const s = net.connect(this.port, this.host);
    s.setNoDelay(true);
    // Events of a socket that failed (and is being replaced) are ignored.
    const current = () => s === this.socket && !this.down;
    s.on('data', (chunk) => current() && this.onData(chunk));
    s.on('error', (e) => current() && this.fail(/** @type {{code?: string}} */ (e).code ?? String(e)));
    s.on('close', () => current() && this.fail('socket closed'));
    return s;
  }

  /** Requests in flight or queued on this connection. */
  get load() {
    return this.pending.length;
  }

  /** @param {string} request the whole request, headers and blank line. @param {Answer} answer */
  send(request, answer) {
    this.pending.push({ answer, sentAt: performance.now() });
    this.out.push(request);
    if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(() => {
        this.flushQueued = false;
        const data = this.out.length === 1 ? this.out[0] : this.out.join('');
        this.out = [];
        if (!this.socket.destroyed) this.socket.write(data, 'latin1');
      });
    }
  }

  /** @param {Buffer} chunk */
  onData(chunk) {
    let buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const end = buf.indexOf(HEADER_END);
      if (end < 0) break;
      const head = buf.toString('latin1', 0, end);
      const at = head.search(/\r\ncontent-length:/i);
      const length = at < 0 ? 0 : parseInt(head.slice(head.indexOf(':', at) + 1), 10);
      const total = end + 4 + length;
      if (buf.length < total) break;
      const status = parseInt(head.slice(9, 12), 10);
      const body = buf.toString('utf8', end + 4, total);
      buf = buf.subarray(total);
      const p = this.pending.shift();
      p?.answer(status, body);
      this.onFree(this, 1);
    }
    this.buf = buf.length > 0 ? buf : null;
  }

  /**
   * Fails every request in flight with `why`, and connects again after 100 ms (no hot loop of refused connections
   * while a server is down; the polls due meanwhile wait, and count from their due time).
   * @param {string} why
   */
  fail(why) {
    this.down = true;
    this.socket.destroy();
    if (!this.closed)
      setTimeout(() => {
        if (this.closed) return;
        this.socket = this.connect();
        this.down = false;
        this.onUp(this);
      }, 100);
    const pending = this.pending;
    this.pending = [];
    this.out = [];
    this.buf = null;
    for (const p of pending) p.answer(0, why);
    if (pending.length > 0) this.onFree(this, pending.length);
  }

  /** Fails the connection when its oldest request has waited more than `timeoutMs`. @param {number} timeoutMs */
  checkTimeout(timeoutMs) {
    const oldest = this.pending[0];
    if (oldest && performance.now() - oldest.sentAt > timeoutMs) this.fail('timeout');
  }

  close() {
    this.closed = true;
    this.socket.destroy();
  }
}

class HttpLoadClient {
  /**
   * @param {{port: number, host?: string, connections: number, depth: number, timeoutMs?: number}} o
   * @param {() => void} onFree called when a request place frees up (take more work then).
   */
  constructor(o, onFree) {
    this.host = o.host ?? '127.0.0.1';
    this.depth = o.depth;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.inFlight = 0;
    this.capacity = o.connections * o.depth;
    /** Connections with a free place. */
    /** @type {Connection[]} */
    this.free = [];
    this.conns = Array.from(
      { length: o.connections },
      () =>
        new Connection(
          o.port,
          this.host,
          (c, n) => this.freed(c, n),
          (c) => this.freed(c, 0),
        ),
    );
    for (const c of this.conns) this.list(c);
    this.onFree = onFree;
    this.timer = setInterval(() => this.conns.forEach((c) => c.checkTimeout(this.timeoutMs)), 500);
  }

  /** @param {Connection} c */
  list(c) {
    c.listed = true;
    this.free.push(c);
  }

  /** @param {Connection} c @param {number} n */
  freed(c, n) {
    this.inFlight -= n;
    if (c.load < this.depth && !c.listed && !c.down) this.list(c);
    this.onFree();
  }

  /** True when a request can be sent now (connections that failed since they were listed are dropped here). */
  get hasRoom() {
    for (let c = this.free.at(-1); c?.down; c = this.free.at(-1)) {
      c.listed = false;
      this.free.pop();
    }
    return this.free.length > 0;
  }

  /**
   * Sends a GET of `path` with `headers` (a preformatted `name: value\r\n` block) on a connection with room.
   * @param {string} path
   * @param {string} headers
   * @param {Answer} answer
   * @throws when no connection has room (check {@link hasRoom} first).
   */
  get(path, headers, answer) {
    if (!this.hasRoom) throw new Error('no connection has room');
    const c = this.free[this.free.length - 1];
    c.send(`GET ${path} HTTP/1.1\r\nhost: ${this.host}\r\n${headers}\r\n`, answer);
    this.inFlight++;
    if (c.load >= this.depth) {
      this.free.pop();
      c.listed = false;
    }
  }

  close() {
    clearInterval(this.timer);
    for (const c of this.conns) c.close();
  }
}

module.exports = { HttpLoadClient };
