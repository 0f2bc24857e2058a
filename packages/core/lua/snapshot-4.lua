--[[
  Takes an item's snapshot after an admission tick and stores it, so that api processes can answer polls from
  memory (the scheduler publishes the same body on the item's snapshot channel; snapshot-store.ts).

  Input:
    KEYS[1] item hash       wq:{itemId}:item
    KEYS[2] waiting queue   wq:{itemId}:waiting
    KEYS[3] entry batches   wq:{itemId}:entry-batches
    KEYS[4] snapshot        wq:{itemId}:snapshot   (HASH version, body)
    ARGV[1] the tick's slot, epoch ms on the Redis clock (its fencing token), recorded as `tickSlotMs`

  Output: the snapshot body (JSON), or '' when the item does not exist (nothing stored):
    version      +1 per snapshot of the item: a subscriber that sees a gap missed one
    nowMs        Redis time when the snapshot was taken, epoch ms
    tickSlotMs   ARGV[1]
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
                 the lane, string, kept from the previous snapshot when its batches have expired; null when none)}
  Place numbers are strings: they may exceed the 14 digits cjson keeps of a number.
]]
-- @include now
-- @include lanes

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
  lanes[i] = {
    name = names[i] or cjson.null,
    rank = r,
    waiting = redis.call('ZCOUNT', KEYS[2], lo, hi),
    head = head[2] or cjson.null,
    tail = tail[2] or cjson.null,
    admittedThrough = through or cjson.null,
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
