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
-- @include lanes

local now = nowMs()
local entered = redis.call('ZCARD', KEYS[2])
-- Unswept batches: at most ENTRY_TTL / tick records per lane. Each batch covers the entries of its lane above the
-- lane's previous batch (includes/lanes.lua); the expired ones are subtracted.
local batches = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
local prevLane, prevScore = nil, nil
for i = 1, #batches, 2 do
  local score = batches[i + 1]
  local lane = laneOf(tonumber(score))
  if tonumber(string.match(batches[i], ':(%d+)$')) <= now then
    local floor = (prevLane == lane) and ('(' .. prevScore) or ('(' .. fmtInt(-lane * LANE_SPAN))
    entered = entered - redis.call('ZCOUNT', KEYS[2], floor, score)
  end
  prevLane, prevScore = lane, score
end
return {redis.call('ZCARD', KEYS[1]), entered}
