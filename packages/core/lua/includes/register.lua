-- Registration of one user in an item's waiting queue, shared by register-5.lua (one user) and
-- register-batch-5.lua (the users of one group commit), so that both decide alike.
-- Keys k: {item hash, waiting queue, entry set, entry batches, last polls} (see register-5.lua).
-- @include place
-- @include lanes

-- readItem(itemKey): the item fields a registration reads, in the order registerOne expects them.
local function readItem(itemKey)
  return redis.call('HMGET', itemKey, 'enabled', 'remainCount', 'admitRate', 'queueMode', 'type', 'startAt', 'maxWaiting', 'lanes')
end

-- registerOne(k, item, userId, lane, trackPoll, now): the reply of register-5.lua for one user (see there).
-- item: readItem(k[1]); a registration changes none of its fields (only its lane's sequence, read by HINCRBY), so one read serves
-- a whole batch. lane: the lane name, '' for the last lane. trackPoll: record the user's last poll. now: epoch ms.
local function registerOne(k, item, userId, lane, trackPoll, now)
  local admitRate = item[3] or '0'
  local status, seq, rank, exp = placeOf(k[2], k[3], k[4], userId, now)
  if status then
    if status == 'WAITING' and trackPoll then redis.call('ZADD', k[5], now, userId) end
    return {status, seq, rank, admitRate, exp, item[2] or '0', now}
  end

  if not item[1] then return {'NO_ITEM'} end
  if item[1] ~= '1' then return {'DISABLED'} end
  if item[4] == 'DIRECT' then return {'DIRECT'} end
  if item[5] == 'TIME_DEAL' and item[6] and tonumber(item[6]) > now then return {'NOT_OPEN', item[6], now} end
  if (tonumber(item[2]) or 0) <= 0 then return {'SOLD_OUT'} end
  if item[7] and redis.call('ZCARD', k[2]) >= tonumber(item[7]) then return {'QUEUE_FULL'} end

  local r = laneRank(item[8], lane)
  local field = laneSeqField(r)
  if r > 0 and redis.call('HEXISTS', k[1], field) == 0 then
    -- The lane's own sequence starts after every number the last lane's sequence has given out: before lanes
    -- numbered their own places they all shared that one, so no earlier place of this lane is numbered higher.
    redis.call('HSET', k[1], field, redis.call('HGET', k[1], 'seq') or '0')
  end
  seq = redis.call('HINCRBY', k[1], field, 1) - r * LANE_SPAN
  -- Registrations ever made, all lanes (the console's admitted total); started from the shared sequence, which
  -- counted them all before lanes had their own.
  if redis.call('HEXISTS', k[1], 'registered') == 0 then
    redis.call('HSET', k[1], 'registered', redis.call('HGET', k[1], 'seq') or '0')
    if r > 0 then redis.call('HINCRBY', k[1], 'registered', 1) end
  else
    redis.call('HINCRBY', k[1], 'registered', 1)
  end
  redis.call('ZADD', k[2], fmtInt(seq), userId)
  if trackPoll then redis.call('ZADD', k[5], now, userId) end
  if r == 0 then
    -- The new member has the highest score, so its rank is the queue's length.
    rank = redis.call('ZCARD', k[2])
  else
    rank = redis.call('ZRANK', k[2], userId) + 1
  end
  return {'WAITING', seq, rank, admitRate, 0, item[2], now}
end
