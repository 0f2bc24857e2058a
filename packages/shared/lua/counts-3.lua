--[[
  Counts an item's waiting tokens and unexpired admissions (admin API). Admissions expired but not yet swept by
  the next tick are not counted.

  Input:
    KEYS[1] waiting queue   wq:{itemId}:waiting
    KEYS[2] entry set       wq:{itemId}:entry
    KEYS[3] entry batches   wq:{itemId}:entry-batches

  Output: {waitingTokenCount, enteredTokenCount}
]]
-- @include now

local now = nowMs()
local floor = '-inf'
-- Unswept batches: at most ENTRY_TTL / tick records. Batches expire oldest first.
local batches = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
for i = 1, #batches, 2 do
  if tonumber(string.match(batches[i], ':(%d+)$')) > now then break end
  floor = '(' .. batches[i + 1]
end
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCOUNT', KEYS[2], floor, '+inf')}
