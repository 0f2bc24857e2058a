--[[
  One scheduler tick for one item: sweeps expired admissions, drops abandoned waiting users (when abandonment is
  on), then moves the first N tokens of the waiting queue into the entry set (keeping their place numbers) and
  records the tick's batch with its expiry, one record and one `batch.admitted` outbox event per lane. Atomic, so a
  scheduler that dies mid-tick loses or doubles nothing.

  Several schedulers may run: one of them is elected per tick through a Redis run key, and the tick's slot (epoch
  ms on the Redis clock, see cron-task.ts) is the fencing token here. An item is moved at most once per slot, and a
  late run of an older slot after a newer one is rejected, so whatever the election does, the item gets at most N
  per tick (Kleppmann, "How to do distributed locking", 2016: fencing tokens). No host clock enters the fence: a
  fence more than one tick ahead of this node's Redis time is refused and never stored, so a scheduler with a
  clock (or a bug) far ahead cannot freeze every other scheduler. A stored fence more than one tick ahead of Redis
  time (left by an older version, or by a Redis clock that stepped back) refuses ticks as STUCK_FENCE until an
  operator clears it (admin API `POST /internal/admin/v1/waiting-item/{itemId}/fence/clear`).

  Lanes (includes/lanes.lua): ZPOPMIN takes higher lanes first; each lane's numbers form their own range, so the
  batch records of one lane are ordered by time, and the sweep walks the lanes one range after the other.

  Input:
    KEYS[1..5] item hash, waiting queue, entry set, entry batches, last polls (as register-5.lua)
    KEYS[6]    outbox     wq:{itemId}:outbox (includes/outbox.lua)
    KEYS[7]    removed places  wq:{itemId}:removed (member and score = the place number of a waiting user dropped
               other than by admission; lua/snapshot-5.lua reads and trims it)
    ARGV[1]    global N (tokens per tick), used when the item has no tokenCountToMove of its own
    ARGV[2]    entry TTL, milliseconds
    ARGV[3]    fencing token: the tick's slot, epoch ms from Redis TIME (must grow from tick to tick; refused when
               more than ARGV[4] ms ahead of this node's Redis time)
    ARGV[4]    tick interval, milliseconds (to publish the admission rate)
    ARGV[5]    abandonment: a waiting user whose last poll (KEYS[5]) is older than this many milliseconds is
               dropped instead of admitted; 0: off (KEYS[5] is not touched)
    ARGV[6]    itemId (for the events; never parsed out of a key)

  Output: {status, moved, expired, waiting, abandoned}
    status 'OK' | 'NO_ITEM' | 'STALE_FENCE' (this tick or a later one already moved the item)
           | 'FENCE_AHEAD' (ARGV[3] is more than one tick ahead of Redis time; nothing stored)
           | 'STUCK_FENCE' (the stored fence is more than one tick ahead of Redis time; an operator clears it)
    moved   tokens admitted now; expired  admissions swept now; waiting  tokens left in the queue;
    abandoned  waiting users dropped now for not polling

  Outbox: per lane that admitted, `batch.admitted` {lane (name or null), count, maxSeq (the batch's highest place
  number, string), expiresAt (ms), fence}.
]]
-- @include now
-- @include lanes
-- @include outbox

local now = nowMs()
local item = redis.call('HMGET', KEYS[1], 'enabled', 'remainCount', 'tokenCountToMove', 'maxActiveUsers', 'fence', 'type', 'startAt', 'lanes')
if not item[1] then return {'NO_ITEM', 0, 0, 0, 0} end
local fence = tonumber(ARGV[3])
local tickMs = tonumber(ARGV[4])
if fence > now + tickMs then return {'FENCE_AHEAD', 0, 0, 0, 0} end
if item[5] and tonumber(item[5]) >= fence then
  if tonumber(item[5]) > now + tickMs then return {'STUCK_FENCE', 0, 0, 0, 0} end
  return {'STALE_FENCE', 0, 0, 0, 0}
end
redis.call('HSET', KEYS[1], 'fence', ARGV[3], 'lastMoveAt', now)

-- Sweep expired admissions: whole batches, oldest first within each lane (bounded work per tick; the rest goes
-- next tick). A batch covers the entries of its lane above the lane's previous batch; swept oldest first, the
-- previous ones are gone, so its entries are those from the lane's lower bound up to its score.
local expired = 0
local cursor = '-inf'
for _ = 1, 100 do
  local b = redis.call('ZRANGEBYSCORE', KEYS[4], cursor, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if #b == 0 then break end
  local lane = laneOf(tonumber(b[2]))
  if tonumber(string.match(b[1], ':(%d+)$')) <= now then
    expired = expired + redis.call('ZREMRANGEBYSCORE', KEYS[3], '(' .. fmtInt(-lane * LANE_SPAN), b[2])
    redis.call('ZREM', KEYS[4], b[1])
  else
    -- This lane's older batches are swept; go on with the next lane, if any.
    if lane == 0 then break end
    cursor = fmtInt((1 - lane) * LANE_SPAN)
  end
end

-- Abandonment: drop waiting users who stopped polling (bounded per tick; the admission below skips the rest).
local abandonMs = tonumber(ARGV[5]) or 0
local cutoff = nil
local abandoned = 0
if abandonMs > 0 then
  cutoff = now - abandonMs
  local stale = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', '(' .. fmtInt(cutoff), 'LIMIT', 0, 1000)
  if #stale > 0 then
    -- Their places are recorded as removed, so that a snapshot still counts exactly who is ahead of a place.
    local places = redis.call('ZMSCORE', KEYS[2], unpack(stale))
    local removed = {}
    for i = 1, #stale do
      if places[i] then
        removed[#removed + 1] = places[i]
        removed[#removed + 1] = places[i]
      end
    end
    if #removed > 0 then redis.call('ZADD', KEYS[7], unpack(removed)) end
    abandoned = redis.call('ZREM', KEYS[2], unpack(stale))
    redis.call('ZREM', KEYS[5], unpack(stale))
  end
end

local n = tonumber(item[3] or ARGV[1]) or 0
if item[1] ~= '1' or (tonumber(item[2]) or 0) <= 0 then n = 0 end
if item[6] == 'TIME_DEAL' and item[7] and tonumber(item[7]) > now then n = 0 end
local rate = n * 1000 / tickMs
if item[4] then
  local maxActive = tonumber(item[4])
  local room = maxActive - redis.call('ZCARD', KEYS[3])
  if room < n then n = math.max(room, 0) end
  -- Sustained capacity when every admitted user holds the slot for the whole TTL.
  local capped = maxActive * 1000 / tonumber(ARGV[2])
  if capped < rate then rate = capped end
end
redis.call('HSET', KEYS[1], 'admitRate', tostring(rate))

local moved = 0
if n > 0 then
  -- Per lane admitted now: highest place number (string, as Redis wrote it) and count.
  local laneMax, laneCount, lanes = {}, {}, {}
  local function note(lane, score)
    if not laneCount[lane] then
      laneCount[lane] = 0
      lanes[#lanes + 1] = lane
    end
    laneMax[lane] = score
    laneCount[lane] = laneCount[lane] + 1
  end
  while moved < n do
    -- 3000 pairs stay under Lua's C stack limit (8000) for unpack.
    local batch = math.min(n - moved, 3000)
    local popped = redis.call('ZPOPMIN', KEYS[2], batch)
    local count = #popped / 2
    if count == 0 then break end
    local adds = {}
    if cutoff then
      -- Skip (drop) abandoned users; forget the last poll of those admitted.
      local members = {}
      for i = 1, #popped, 2 do members[#members + 1] = popped[i] end
      local polls = redis.call('ZMSCORE', KEYS[5], unpack(members))
      for j = 1, #members do
        if polls[j] and tonumber(polls[j]) < cutoff then
          abandoned = abandoned + 1
        else
          adds[#adds + 1] = popped[2 * j]
          adds[#adds + 1] = members[j]
        end
      end
      redis.call('ZREM', KEYS[5], unpack(members))
    else
      -- {member, score, ...} -> {score, member, ...} for ZADD, in place.
      for i = 1, #popped, 2 do
        popped[i], popped[i + 1] = popped[i + 1], popped[i]
      end
      adds = popped
    end
    local kept = #adds / 2
    if kept > 0 then
      redis.call('ZADD', KEYS[3], unpack(adds))
      if tonumber(adds[1]) > 0 then
        -- All in the last lane (always so on an item without lanes).
        laneMax[0] = adds[#adds - 1]
        if not laneCount[0] then
          laneCount[0] = 0
          lanes[#lanes + 1] = 0
        end
        laneCount[0] = laneCount[0] + kept
      else
        for i = 1, #adds, 2 do note(laneOf(tonumber(adds[i])), adds[i]) end
      end
    end
    moved = moved + kept
    if count < batch then break end
  end
  local expiresAt = now + tonumber(ARGV[2])
  for _, lane in ipairs(lanes) do
    local maxSeq = laneMax[lane]
    redis.call('ZADD', KEYS[4], maxSeq, maxSeq .. ':' .. fmtInt(expiresAt))
    emitEvent(ARGV[6], KEYS[1], KEYS[6], 'batch.admitted', now, {'lane', laneName(item[8], lane) or cjson.null, 'count', laneCount[lane],
      'maxSeq', maxSeq, 'expiresAt', expiresAt, 'fence', fence})
  end
end
return {'OK', moved, expired, redis.call('ZCARD', KEYS[2]), abandoned}
