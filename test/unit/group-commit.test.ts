import { GroupCommit } from '@waiting-queue/core/group-commit';

/** GroupCommit alone: which requests share a call, in which order, and what each caller gets back. */
describe('GroupCommit', () => {
  /** A GroupCommit whose calls are recorded; each request's result is `<key>:<request>`. */
  const recording = (options = {}) => {
    const calls: [string, string[]][] = [];
    const gc = new GroupCommit<string, string>(async (key, reqs) => {
      calls.push([key, [...reqs]]);
      return reqs.map((r) => `${key}:${r}`);
    }, options);
    return { gc, calls };
  };

  test('requests of one turn share one call per key, in arrival order; each caller gets its own result', async () => {
    const { gc, calls } = recording();
    const results = await Promise.all([gc.submit('a', '1'), gc.submit('b', '2'), gc.submit('a', '3')]);
    expect(results).toEqual(['a:1', 'b:2', 'a:3']);
    expect(calls).toEqual([
      ['a', ['1', '3']],
      ['b', ['2']],
    ]);
  });

  test('requests of a later turn go in a later call', async () => {
    const { gc, calls } = recording();
    await gc.submit('a', '1');
    await gc.submit('a', '2');
    expect(calls).toEqual([
      ['a', ['1']],
      ['a', ['2']],
    ]);
  });

  test('a window gathers requests across turns', async () => {
    const { gc, calls } = recording({ windowMs: 2 });
    const first = gc.submit('a', '1');
    await new Promise((r) => setImmediate(r));
    const second = gc.submit('a', '2');
    expect(await Promise.all([first, second])).toEqual(['a:1', 'a:2']);
    expect(calls).toEqual([['a', ['1', '2']]]);
  });

  test('a full batch goes at once; the rest open the next one', async () => {
    const { gc, calls } = recording({ maxBatch: 2 });
    await Promise.all(['1', '2', '3'].map((r) => gc.submit('a', r)));
    expect(calls).toEqual([
      ['a', ['1', '2']],
      ['a', ['3']],
    ]);
  });

  test("a failed call rejects every caller of its batch with the call's error, and is not sent again", async () => {
    let runs = 0;
    const boom = new Error('Connection is closed.');
    const gc = new GroupCommit<string, string>(() => {
      runs++;
      return Promise.reject(boom);
    });
    const outcomes = await Promise.allSettled([gc.submit('a', '1'), gc.submit('a', '2')]);
    expect(outcomes).toEqual([
      { status: 'rejected', reason: boom },
      { status: 'rejected', reason: boom },
    ]);
    expect(runs).toBe(1);
  });

  test('a call that answers the wrong number of results rejects every caller', async () => {
    const gc = new GroupCommit<string, string>(async () => ['only one']);
    const outcomes = await Promise.allSettled([gc.submit('a', '1'), gc.submit('a', '2')]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });

  test('a window outside 0..2 ms is refused', () => {
    expect(() => new GroupCommit(async () => [], { windowMs: 3 })).toThrow(RangeError);
    expect(() => new GroupCommit(async () => [], { windowMs: -1 })).toThrow(RangeError);
  });
});
