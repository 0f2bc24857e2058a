import type { AdmitResult, ItemStore, Logger, QueueStore } from '@waiting-queue/shared';

/** Settings of the admission tick. */
export interface AdmissionOptions {
  /** Global N used until an operator stores one in Redis (TOKEN_COUNT_TO_MOVE). */
  defaultTokenCountToMove: number;
  /** Admission lifetime, milliseconds (ENTRY_TTL_SECONDS x 1000). */
  entryTtlMs: number;
  /** Interval between ticks, milliseconds (from the cron expression). */
  tickMs: number;
}

/** What one tick did. */
export interface TickReport {
  /** The tick's scheduled time, epoch ms (its fencing token). */
  slotMs: number;
  tokenCountToMove: number;
  moved: number;
  expired: number;
  items: (AdmitResult & { itemId: string })[];
  /** Items whose admission failed (Redis errors), retried next tick. */
  failed: string[];
}

/**
 * One admission tick over every registered item: for each, one Lua call that sweeps expired admissions and moves
 * up to N tokens from the waiting queue into the entry set (lua/admit-4.lua). Calls for all items are sent
 * together (auto-pipelining), so a tick costs about one round trip per Redis node.
 */
export class AdmissionTicker {
  constructor(
    private readonly items: ItemStore,
    private readonly queue: QueueStore,
    private readonly options: AdmissionOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * Runs the tick scheduled at `slotMs` (epoch ms; must grow from tick to tick, it fences each item).
   * @throws when the item registry or N cannot be read (Redis down); per-item failures are reported instead.
   */
  async tick(slotMs: number): Promise<TickReport> {
    const [tokenCountToMove, ids] = await Promise.all([
      this.items.getTokenCountToMove(this.options.defaultTokenCountToMove),
      this.items.listIds(),
    ]);
    const failed: string[] = [];
    const results = await Promise.all(
      ids.map((itemId) =>
        this.queue
          .admit(itemId, { tokenCountToMove, entryTtlMs: this.options.entryTtlMs, fence: slotMs, tickMs: this.options.tickMs })
          .then((r) => ({ itemId, ...r }))
          .catch((err: Error) => {
            failed.push(itemId);
            this.logger.warn({ itemId, err: err.message }, 'admission failed for item; retrying next tick');
            return null;
          }),
      ),
    );
    const items = results.filter((r): r is AdmitResult & { itemId: string } => r !== null);
    return {
      slotMs,
      tokenCountToMove,
      moved: items.reduce((s, r) => s + r.moved, 0),
      expired: items.reduce((s, r) => s + r.expired, 0),
      items,
      failed,
    };
  }
}
