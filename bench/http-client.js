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
   */
  constructor(port, host, onFree) {
    this.port = port;
    this.host = host;
    this.onFree = onFree;
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
    // Events of a socket this connection replaced (after a failure) are ignored.
    s.on('data', (chunk) => s === this.socket && this.onData(chunk));
    s.on('error', (e) => s === this.socket && this.fail(/** @type {{code?: string}} */ (e).code ?? String(e)));
    s.on('close', () => s === this.socket && this.fail('socket closed'));
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

  /** Fails every request in flight with `why`, and connects again. @param {string} why */
  fail(why) {
    const old = this.socket;
    if (!this.closed) this.socket = this.connect();
    old.destroy();
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
      () => new Connection(o.port, this.host, (c, n) => this.freed(c, n)),
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
    if (c.load < this.depth && !c.listed) this.list(c);
    this.onFree();
  }

  /** True when a request can be sent now. */
  get hasRoom() {
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
    const c = this.free[this.free.length - 1];
    if (!c) throw new Error('no connection has room');
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
