--[[
  Registers a user in an item's waiting queue, or returns the place the user already holds (one place per user
  per item; idempotent under any concurrency because the script runs atomically).

  Order comes from the item's own sequence (HINCRBY), so FIFO holds across any number of api processes. On an item
  with priority lanes, the place number also carries the user's lane (includes/lanes.lua): higher lanes first,
  FIFO within each; each lane has its own sequence, so the numbers of one lane are contiguous.

  Input:
    KEYS[1] item hash        wq:{itemId}:item
    KEYS[2] waiting queue    wq:{itemId}:waiting     (member userId, score = place number)
    KEYS[3] entry set        wq:{itemId}:entry          (member userId, score = place number)
    KEYS[4] entry batches    wq:{itemId}:entry-batches  (one record per admission tick and lane, see includes/batch.lua)
    KEYS[5] last polls       wq:{itemId}:last-poll      (member userId, score = epoch ms; written only with ARGV[3])
    ARGV[1] userId
    ARGV[2] lane name (the trusted `user-tier` header); '' or unknown: the item's last lane
    ARGV[3] '1': record this as the user's last poll (abandonment on, ABANDON_AFTER_SECONDS > 0); '': do not

  Output: {status, seq, rank, admitRate, expiresAtMs, remainCount, nowMs}
    status      'WAITING' | 'ADMITTED' (an existing or new place), or, with no other field,
                'NO_ITEM' | 'DISABLED' | 'DIRECT' (queueMode DIRECT: no waiting room) | 'SOLD_OUT' |
                'QUEUE_FULL' (maxWaiting users wait already) (registration refused), or
                {'NOT_OPEN', opensAtMs, nowMs} (a TIME_DEAL before its startAt)
    seq         the place's number (string or integer; negative in a higher lane)
    rank        1-based position among waiting users; 0 when admitted
    admitRate   admission capacity, tokens per second (string), as the scheduler last wrote it
    expiresAtMs admission expiry, epoch ms; 0 while waiting
    remainCount the item's stock
    nowMs       Redis time, epoch ms (the api computes waits and Retry-After from it, never from its host clock)
]]
-- @include now
-- @include register

return registerOne(KEYS, readItem(KEYS[1]), ARGV[1], ARGV[2], ARGV[3] == '1', nowMs())
