/**
 * Group commit: requests with the same key (an item) that arrive in the same event-loop turn, or within a short
 * window, go to the store as one call; each caller gets its own answer, or the call's error.
 */

/** Options of a {@link GroupCommit}. */
export interface GroupCommitOptions {
  /**
   * How long a batch waits for more requests after its first one, milliseconds (0..2). 0: the batch closes at the
   * end of the event-loop turn in which it opened (setImmediate), which adds no timer wait.
   */
  windowMs?: number;
  /** Most requests in one batch; a full batch goes at once. Default {@link GROUP_COMMIT_MAX_BATCH}. */
  maxBatch?: number;
}

/** Default cap on the requests of one batch: bounds the time one script call holds Redis. */
export const GROUP_COMMIT_MAX_BATCH = 256;

/** The largest window a {@link GroupCommit} accepts, milliseconds. */
export const GROUP_COMMIT_MAX_WINDOW_MS = 2;

interface Waiter<Res> {
  resolve: (value: Res) => void;
  reject: (reason: unknown) => void;
}

interface Batch<Req, Res> {
  requests: Req[];
  waiters: Waiter<Res>[];
}

/**
 * Batches requests per key. `run(key, requests)` must answer one result per request, in order; when it throws (Redis
 * down, an ambiguous outcome), every caller of that batch gets its error, and no request is sent again.
 */
export class GroupCommit<Req, Res> {
  private readonly open = new Map<string, Batch<Req, Res>>();
  private readonly windowMs: number;
  private readonly maxBatch: number;

  /**
   * @param run sends one batch: resolves with one result per request, in order.
   * @throws RangeError when `windowMs` is outside 0..2 or `maxBatch` < 1.
   */
  constructor(
    private readonly run: (key: string, requests: Req[]) => Promise<Res[]>,
    options: GroupCommitOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 0;
    this.maxBatch = options.maxBatch ?? GROUP_COMMIT_MAX_BATCH;
    if (!(this.windowMs >= 0 && this.windowMs <= GROUP_COMMIT_MAX_WINDOW_MS))
      throw new RangeError(`group commit window must be 0..${GROUP_COMMIT_MAX_WINDOW_MS} ms, got ${this.windowMs}`);
    if (!(this.maxBatch >= 1)) throw new RangeError(`group commit batch must hold at least 1 request`);
  }

  /**
   * Adds `request` to the open batch of `key` (opening one when there is none).
   * @returns the request's own result, once its batch has run. @throws (rejects with) the batch call's error.
   */
  submit(key: string, request: Req): Promise<Res> {
    let batch = this.open.get(key);
    if (!batch) {
      const opened: Batch<Req, Res> = { requests: [], waiters: [] };
      batch = opened;
      this.open.set(key, opened);
      const close = () => this.flush(key, opened);
      if (this.windowMs > 0) setTimeout(close, this.windowMs);
      else setImmediate(close);
    }
    const promise = new Promise<Res>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    batch.requests.push(request);
    if (batch.requests.length >= this.maxBatch) this.flush(key, batch);
    return promise;
  }

  /** Sends `batch` unless it went already (full before its timer fired). */
  private flush(key: string, batch: Batch<Req, Res>): void {
    if (this.open.get(key) !== batch) return;
    this.open.delete(key);
    const { requests, waiters } = batch;
    this.run(key, requests).then(
      (results) => {
        if (results.length !== waiters.length) {
          const err = new Error(`group commit: ${results.length} results for ${waiters.length} requests`);
          for (const w of waiters) w.reject(err);
          return;
        }
        waiters.forEach((w, i) => w.resolve(results[i]));
      },
      (err: unknown) => {
        for (const w of waiters) w.reject(err);
      },
    );
  }
}
