import {
  compareStreamIds,
  formatEvent,
  parseEvent,
  parseOutboxEntry,
  toKafkaMessage,
  toPublishedEvent,
} from '@waiting-queue/core/events';

/** The events module without Redis or Kafka: the outbox entry, the published id and the Kafka message as on the wire. */
describe('events', () => {
  const entry: [string, string[]] = [
    '1700000000000-3',
    [
      'id',
      'i1:7',
      'type',
      'claim.issued',
      'itemId',
      'i1',
      'at',
      '1700000000000',
      'payload',
      '{"claimId":"i1.c1","userId":"u1","remainCount":4}',
    ],
  ];

  test('an outbox entry becomes the published event: id <itemId>:<n>@<streamId>, JSON fields in wire order, id/type headers', () => {
    const parsed = parseOutboxEntry(entry, 'i1')!;
    expect(parsed).toEqual({
      streamId: '1700000000000-3',
      id: 'i1:7',
      type: 'claim.issued',
      itemId: 'i1',
      at: 1_700_000_000_000,
      payload: { claimId: 'i1.c1', userId: 'u1', remainCount: 4 },
    });
    const event = toPublishedEvent(parsed);
    expect(toKafkaMessage(event)).toEqual({
      key: 'i1',
      value:
        '{"id":"i1:7@1700000000000-3","type":"claim.issued","itemId":"i1","at":1700000000000,"payload":{"claimId":"i1.c1","userId":"u1","remainCount":4}}',
      headers: { 'event-id': 'i1:7@1700000000000-3', 'event-type': 'claim.issued' },
    });
    expect(parseEvent(formatEvent(event))).toEqual(event);
    // The union narrows on type: the payload is the claim's (checked by tsc over test/).
    const claimId: string | undefined = event.type === 'claim.issued' ? event.payload.claimId : undefined;
    const remainCount: number | undefined = parsed.type === 'claim.issued' ? parsed.payload.remainCount : undefined;
    expect({ claimId, remainCount }).toEqual({ claimId: 'i1.c1', remainCount: 4 });
  });

  test('entries without id or type are not events; a payload that is not JSON is kept as raw; itemId falls back to the stream', () => {
    expect(parseOutboxEntry(['1-0', ['type', 'claim.issued']])).toBeNull();
    expect(parseOutboxEntry(['1-0', ['id', 'x:1']])).toBeNull();
    expect(parseOutboxEntry(['1-0', ['id', 'x:1', 'type', 'item.restocked', 'payload', '{oops']], 'x')).toEqual({
      streamId: '1-0',
      id: 'x:1',
      type: 'item.restocked',
      itemId: 'x',
      at: 0,
      payload: { raw: '{oops' },
    });
  });

  test('parseEvent refuses what is not an event', () => {
    expect(() => parseEvent('not json')).toThrow();
    expect(() => parseEvent('null')).toThrow('not an event');
    expect(() => parseEvent('{"id":1,"type":"claim.issued"}')).toThrow('not an event');
  });

  test('stream ids compare by time, then by sequence', () => {
    expect(compareStreamIds('9-1', '10-0')).toBeLessThan(0);
    expect(compareStreamIds('10-2', '10-2')).toBe(0);
    expect(compareStreamIds('10-10', '10-9')).toBeGreaterThan(0);
  });
});
