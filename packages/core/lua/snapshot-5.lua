--[[
  Takes an item's snapshot after an admission tick and stores it, so that api processes can answer polls from
  memory (the scheduler publishes the same body on the item's snapshot channel; snapshot-store.ts). A snapshot
  holds, per lane, what counting the places ahead of a waiting token takes (snapshot-rank.ts): within a lane the
  place numbers are contiguous (each lane has its own sequence, includes/lanes.lua), so the places ahead of place p
  are those from the lane's head to p, less the places removed in between (abandonment, KEYS[5]).

  Input:
    KEYS[1] item hash       wq:{itemId}:item
    KEYS[2] waiting queue   wq:{itemId}:waiting
    KEYS[3] entry batches   wq:{itemId}:entry-batches
    KEYS[4] snapshot        wq:{itemId}:snapshot   (HASH version, body)
    KEYS[5] removed places  wq:{itemId}:removed    (written by admit-7.lua; trimmed here below each lane's head)
    ARGV[1] the tick's slot, epoch ms on the Redis clock (its fencing token), recorded as `tickSlotMs`
    ARGV[2] the admission tick interval, milliseconds, recorded as `tickMs` (a snapshot older than two ticks is
            not served)

  Output: the snapshot body (JSON), or '' when the item does not exist (nothing stored):
    version      +1 per snapshot of the item: a subscriber that sees a gap missed one
    nowMs        Redis time when the snapshot was taken, epoch ms
    tickSlotMs   ARGV[1]
    tickMs       ARGV[2]
    enabled      the item admits and registers
    soldOut      remainCount <= 0
    remainCount  the item's stock
    admitRate    admission capacity, tokens per second, as the tick wrote it
    waiting      users waiting in the item, all lanes (more than the lanes' sum when places of a lane since removed
                 from the item still wait)
    timeDeal     null, or {startAt (epoch ms), open (startAt <= nowMs)} for a TIME_DEAL
    lanes        one per lane, highest priority first (one, named null, on an item without lanes):
                 {name, rank (r, see includes/lanes.lua), waiting (count), head, tail (lowest and highest waiting place
                 number, strings; null when none wait), admittedThrough (the highest place number admitted so far in
                 the lane, string, kept from the previous snapshot when its batches have expired; null when none),
                 issuedThrough (the highest place number the lane's sequence has given out, string; a lane without
                 its own sequence yet gets it here, started as its first registration would), removed (the place numbers strictly between head
                 and tail that no longer wait, ascending strings; null when they do not account for every gap there,
                 i.e. tail - head + 1 ~= waiting + #removed: places numbered before lanes had their own sequences, or
                 more than SNAPSHOT_MAX_REMOVED removed)}
  Place numbers are strings: they may exceed the 14 digits cjson keeps of a number.
]]
-- @include now
-- @include lanes
-- @const SNAPSHOT_MAX_REMOVED

local now = nowMs()
local item = redis.call('HMGET', KEYS[1], 'enabled', 'remainCount', 'admitRate', 'type', 'startAt', 'lanes')
if not item[1] then return '' end

local previous = {}
local old = redis.call('HGET', KEYS[4], 'body')
if old then
  for _, l in ipairs(cjson.decode(old).lanes or {}) do
    if l.admittedThrough ~= cjson.null then previous[l.rank] = l.admittedThrough end
  end
end

-- removedBetween(head, tail, waiting): the removed places strictly between head and tail (strings, ascending) when
-- they and the waiting ones account for every number from head to tail; else cjson.null.
local function removedBetween(head, tail, waiting)
  local gaps = tonumber(tail) - tonumber(head) + 1 - waiting
  -- cjson encodes an empty table as {}: parseSnapshot reads it as no removed place.
  if gaps == 0 then return {} end
  if gaps < 0 or gaps > SNAPSHOT_MAX_REMOVED then return cjson.null end
  local listed = redis.call('ZRANGEBYSCORE', KEYS[5], '(' .. head, '(' .. tail, 'LIMIT', 0, gaps + 1)
  if #listed ~= gaps then return cjson.null end
  return listed
end

local names = laneNames(item[6])
local count = math.max(#names, 1)
local lanes = {}
for i = 1, count do
  local r = count - i
  local lo = '(' .. fmtInt(-r * LANE_SPAN)
  local hi = fmtInt((1 - r) * LANE_SPAN)
  local head = redis.call('ZRANGEBYSCORE', KEYS[2], lo, hi, 'WITHSCORES', 'LIMIT', 0, 1)
  local tail = redis.call('ZREVRANGEBYSCORE', KEYS[2], hi, lo, 'WITHSCORES', 'LIMIT', 0, 1)
  local batch = redis.call('ZREVRANGEBYSCORE', KEYS[3], hi, lo, 'WITHSCORES', 'LIMIT', 0, 1)
  local through = previous[r]
  if batch[2] and (not through or tonumber(batch[2]) > tonumber(through)) then through = batch[2] end
  local waiting = redis.call('ZCOUNT', KEYS[2], lo, hi)
  local issued = redis.call('HGET', KEYS[1], laneSeqField(r))
  if not issued then
    -- Start the lane's own sequence now, as its first registration would (includes/register.lua), so that places
    -- registered after this snapshot are counted from a known number.
    issued = redis.call('HGET', KEYS[1], 'seq') or '0'
    if r > 0 then redis.call('HSET', KEYS[1], laneSeqField(r), issued) end
  end
  local removed = cjson.null
  if head[2] then
    -- Removed places below the head count for no waiting place any more.
    redis.call('ZREMRANGEBYSCORE', KEYS[5], lo, '(' .. head[2])
    removed = removedBetween(head[2], tail[2], waiting)
  else
    redis.call('ZREMRANGEBYSCORE', KEYS[5], lo, hi)
  end
  lanes[i] = {
    name = names[i] or cjson.null,
    rank = r,
    waiting = waiting,
    head = head[2] or cjson.null,
    tail = tail[2] or cjson.null,
    admittedThrough = through or cjson.null,
    issuedThrough = fmtInt(tonumber(issued) - r * LANE_SPAN),
    removed = removed,
  }
end

local remain = tonumber(item[2]) or 0
local timeDeal = cjson.null
if item[4] == 'TIME_DEAL' then
  local startAt = tonumber(item[5]) or 0
  timeDeal = {startAt = startAt, open = startAt <= now}
end
local version = redis.call('HINCRBY', KEYS[4], 'version', 1)
local body = cjson.encode({
  version = version,
  nowMs = now,
  tickSlotMs = tonumber(ARGV[1]),
  tickMs = tonumber(ARGV[2]) or cjson.null,
  enabled = item[1] == '1',
  soldOut = remain <= 0,
  remainCount = remain,
  admitRate = tonumber(item[3]) or 0,
  waiting = redis.call('ZCARD', KEYS[2]),
  timeDeal = timeDeal,
  lanes = lanes,
})
redis.call('HSET', KEYS[4], 'body', body)
return body
