--[[
  Creates or updates a waiting item, keeping its queue state (sequence, fence, rates). Every upsert that writes
  increments the item's settings version (field `version`); with the stock it makes the item's ETag
  `"<version>.<remainCount>"` (item-store.ts). The If-Match check is here, atomic with the write.

  Input:
    KEYS[1] item hash wq:{itemId}:item
    ARGV[1] itemName
    ARGV[2] remainCount (integer >= 0); '-' keeps the stored stock (updates only: stock changed by reservations
            between an operator's read and write is not written back). On an existing item, ARGV[15] decides.
    ARGV[3] waitingQueueEnabled ('1' | '0')
    ARGV[4] tokenCountToMove override (integer >= 0); '' removes it (the global N applies); '-' keeps it
    ARGV[5] maxActiveUsers (integer >= 1); '' removes the cap; '-' keeps it
    ARGV[6] targetUrl (order page of admitted shoppers); '' removes it; '-' keeps it (absent: kept)
    ARGV[7]  type 'GENERAL' | 'TIME_DEAL'; '' removes it (GENERAL); '-' keeps it (absent: kept; so for ARGV[8..12])
    ARGV[8]  startAt, epoch ms (a TIME_DEAL refuses registration before it); '' removes it; '-' keeps it
    ARGV[9]  maxPerUser (integer >= 1, reservations); '' removes it (1); '-' keeps it
    ARGV[10] queueMode 'WAITING' | 'DIRECT' (first-come claims, no waiting room); '' removes it (WAITING); '-' keeps it
    ARGV[11] lanes, comma-separated lane names, highest priority first; '' removes them; '-' keeps them
    ARGV[12] maxWaiting (integer >= 1: registration refused with QUEUE_FULL beyond it); '' removes it; '-' keeps it
    ARGV[13] If-Match settings version: '' none; '*' any existing item; else the item's `version` must equal it
    ARGV[14] If-Match stock: '' not compared; else the stored remainCount must equal it
    ARGV[15] what ARGV[2] does on an existing item: 'set' (absent: the default) writes it; 'match' writes it only
             when ARGV[14] is given (else refused with -3: a blind set undoes what Redis counted down); 'keep'
             ignores it (an upstream figure creates an item but never overwrites the stock)
    KEYS[2] idempotency records   wq:{itemId}:idempotency          (lua/includes/idempotency.lua)
    KEYS[3] idempotency expiries  wq:{itemId}:idempotency-expiry
    ARGV[16..19] Idempotency-Key ('' : none), request fingerprint, record TTL ms, most records per item

  Output: {status, ...the stored item's fields (ITEM_FIELDS below), read in the same script} when written;
          {status} when refused. status: 1 created, 0 updated, 2 updated with ARGV[2] ignored ('keep'), -1 refused
          (a new item without remainCount), -2 precondition failed (If-Match given and the item is missing or
          differs), -3 refused (a stock set on an existing item without If-Match under 'match')
  With an Idempotency-Key: a retry gets the reply recorded for that key (the item as this upsert stored it) and
  changes nothing; the key recorded for another request: {'IDEMPOTENCY_KEY_REUSED'}.
]]
-- @include idempotency

-- The item's fields as item-store.ts reads them (ITEM_FIELDS there), in that order.
local ITEM_FIELDS = {'itemName', 'remainCount', 'enabled', 'tokenCountToMove', 'maxActiveUsers', 'targetUrl', 'type',
  'startAt', 'maxPerUser', 'queueMode', 'lanes', 'maxWaiting', 'version'}

local function apply()
  local exists = redis.call('EXISTS', KEYS[1]) == 1
  local ifVersion, ifStock, stockRule = ARGV[13] or '', ARGV[14] or '', ARGV[15] or 'set'
  if ifVersion ~= '' then
    if not exists then return -2 end
    if ifVersion ~= '*' and (redis.call('HGET', KEYS[1], 'version') or '0') ~= ifVersion then return -2 end
  end
  if ifStock ~= '' and (not exists or redis.call('HGET', KEYS[1], 'remainCount') ~= ifStock) then return -2 end

  local stock = ARGV[2]
  local result = exists and 0 or 1
  if exists and stock ~= '-' then
    if stockRule == 'keep' then
      stock = '-'
      result = 2
    elseif stockRule == 'match' and ifStock == '' then
      return -3
    end
  end
  if stock == '-' then
    if not exists then return -1 end
    redis.call('HSET', KEYS[1], 'itemName', ARGV[1], 'enabled', ARGV[3])
  else
    redis.call('HSET', KEYS[1], 'itemName', ARGV[1], 'remainCount', stock, 'enabled', ARGV[3])
  end
  local optional = {{'tokenCountToMove', ARGV[4]}, {'maxActiveUsers', ARGV[5]}, {'targetUrl', ARGV[6] or '-'},
    {'type', ARGV[7] or '-'}, {'startAt', ARGV[8] or '-'}, {'maxPerUser', ARGV[9] or '-'}, {'queueMode', ARGV[10] or '-'},
    {'lanes', ARGV[11] or '-'}, {'maxWaiting', ARGV[12] or '-'}}
  for _, f in ipairs(optional) do
    if f[2] == '' then redis.call('HDEL', KEYS[1], f[1])
    elseif f[2] ~= '-' then redis.call('HSET', KEYS[1], f[1], f[2]) end
  end
  redis.call('HINCRBY', KEYS[1], 'version', 1)
  return result
end

local function run()
  local status = apply()
  if status < 0 then return {status} end
  return {status, unpack(redis.call('HMGET', KEYS[1], unpack(ITEM_FIELDS)))}
end

return idempotent(KEYS[2], KEYS[3], ARGV, 16, run)
