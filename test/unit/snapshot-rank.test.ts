import fc from 'fast-check';
import { LANE_SPAN } from '@waiting-queue/core/lua-constants';
import { indexSnapshot, laneOfPlace, rankFromIndex } from '@waiting-queue/core/snapshot-rank';
import { parseSnapshot, type ItemSnapshot, type LaneSnapshot } from '@waiting-queue/core/snapshot-store';

/** A snapshot of the given lanes (highest first) as lua/snapshot-5.lua writes it. */
function snapshot(lanes: LaneSnapshot[]): ItemSnapshot {
  return {
    version: 1,
    nowMs: 0,
    tickSlotMs: 0,
    tickMs: 1000,
    enabled: true,
    soldOut: false,
    remainCount: 10,
    admitRate: 1,
    waiting: lanes.reduce((n, l) => n + l.waiting, 0),
    timeDeal: null,
    lanes,
  };
}

const lane = (r: number, l: Partial<LaneSnapshot>): LaneSnapshot => ({
  name: null,
  rank: r,
  waiting: 0,
  head: null,
  tail: null,
  admittedThrough: null,
  issuedThrough: null,
  removed: [],
  ...l,
});

describe('rank from a snapshot', () => {
  test('one lane: head to tail less the removed places; after the tail, counted from issuedThrough', () => {
    // Places 1..3 admitted; 4..10 issued, 6 and 8 removed: waiting 4, 5, 7, 9, 10.
    const index = indexSnapshot(
      snapshot([
        lane(0, { waiting: 5, head: '4', tail: '10', admittedThrough: '3', issuedThrough: '10', removed: ['6', '8'] }),
      ]),
    );
    expect([4, 5, 7, 9, 10].map((p) => rankFromIndex(index, p))).toEqual([1, 2, 3, 4, 5]);
    for (const p of [1, 3, 6, 8]) expect(rankFromIndex(index, p)).toBeUndefined();
    expect(rankFromIndex(index, 11)).toBe(6);
    expect(rankFromIndex(index, 14)).toBe(9);
  });

  test('lanes: the higher ones come first; a place above the tail but not above issuedThrough is not known', () => {
    const vip = (n: number) => String(n - LANE_SPAN);
    const index = indexSnapshot(
      snapshot([
        lane(1, { waiting: 2, head: vip(5), tail: vip(6), issuedThrough: vip(7), removed: [] }),
        lane(0, { waiting: 3, head: '2', tail: '4', admittedThrough: '1', issuedThrough: '4', removed: [] }),
      ]),
    );
    expect(rankFromIndex(index, 5 - LANE_SPAN)).toBe(1);
    expect(rankFromIndex(index, 6 - LANE_SPAN)).toBe(2);
    expect(rankFromIndex(index, 7 - LANE_SPAN)).toBeUndefined(); // issued, not waiting at the snapshot
    expect(rankFromIndex(index, 8 - LANE_SPAN)).toBe(3);
    expect(rankFromIndex(index, 2)).toBe(3);
    expect(rankFromIndex(index, 4)).toBe(5);
    expect(rankFromIndex(index, 5)).toBe(6);
    expect(rankFromIndex(index, 1 - 2 * LANE_SPAN)).toBeUndefined(); // a lane the snapshot does not have
  });

  test('a lane whose gaps are not accounted for, or a snapshot whose lanes miss waiting users, answers nothing in range', () => {
    const unknownGaps = indexSnapshot(
      snapshot([lane(0, { waiting: 2, head: '1', tail: '5', issuedThrough: '5', removed: null })]),
    );
    expect(rankFromIndex(unknownGaps, 1)).toBeUndefined();
    expect(rankFromIndex(unknownGaps, 6)).toBe(3); // after the tail the count is still exact
    const s = snapshot([lane(0, { waiting: 1, head: '1', tail: '1', issuedThrough: '1' })]);
    expect(rankFromIndex(indexSnapshot({ ...s, waiting: 2 }), 1)).toBeUndefined();
  });

  test('parseSnapshot reads an empty list written as {} and a snapshot of an older scheduler', () => {
    const body = JSON.stringify(snapshot([{ ...lane(0, {}), removed: {} as unknown as string[] }]));
    expect(parseSnapshot(body)!.lanes[0].removed).toEqual([]);
    const older = JSON.parse(body) as { lanes: Record<string, unknown>[] };
    delete older.lanes[0].removed;
    delete older.lanes[0].issuedThrough;
    expect(parseSnapshot(JSON.stringify(older))!.lanes[0]).toMatchObject({ removed: null, issuedThrough: null });
  });

  test('property: against a brute-force count over a random lane', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('waiting', 'removed', 'admitted'), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 3 }),
        (states, r) => {
          // Places of lane r numbered 1.. in order; admitted ones must come first to be a real history.
          const sorted = [...states].sort((a, b) => Number(b === 'admitted') - Number(a === 'admitted'));
          const place = (i: number) => i + 1 - r * LANE_SPAN;
          const waiting = sorted.flatMap((s, i) => (s === 'waiting' ? [place(i)] : []));
          const admitted = sorted.flatMap((s, i) => (s === 'admitted' ? [place(i)] : []));
          const head = waiting[0];
          const tail = waiting[waiting.length - 1];
          const removed = sorted.flatMap((s, i) =>
            s === 'removed' && head !== undefined && place(i) > head && place(i) < tail ? [String(place(i))] : [],
          );
          const index = indexSnapshot(
            snapshot([
              lane(r, {
                waiting: waiting.length,
                head: head === undefined ? null : String(head),
                tail: tail === undefined ? null : String(tail),
                admittedThrough: admitted.length ? String(admitted[admitted.length - 1]) : null,
                issuedThrough: String(place(sorted.length - 1)),
                removed,
              }),
            ]),
          );
          for (let i = 0; i < sorted.length + 3; i++) {
            const p = place(i);
            const got = rankFromIndex(index, p);
            if (i >= sorted.length) expect(got).toBe(waiting.length + i - sorted.length + 1);
            else if (sorted[i] === 'waiting') expect(got).toBe(waiting.indexOf(p) + 1);
            else expect(got).toBeUndefined();
            expect(laneOfPlace(p)).toBe(r);
          }
        },
      ),
    );
  });
});
