--[[
  Moves an item's outbox relay cursor after Kafka acknowledged the events up to it, then trims the stream up to
  the cursor (the cursor's own entry stays, as the anchor that gap detection looks for). Compare-and-set, fenced
  by the relay lease's epoch (relay-lease-2.lua): the cursor moves only from the value the caller read, and only
  if no relay with a newer lease has moved it, so a relay that lost its lease mid-round can neither move the
  cursor back nor trim events that the new holder has not published yet.

  Input:
    KEYS[1] item hash    wq:{itemId}:item (field relayEpoch: the epoch of the last move)
    KEYS[2] cursor       wq:{itemId}:outbox-cursor (stream entry id)
    KEYS[3] outbox       wq:{itemId}:outbox
    ARGV[1] the cursor the caller read ('' when there was none)
    ARGV[2] the new cursor: the last stream entry id the caller published
    ARGV[3] the caller's lease epoch

  Output: {status, the item's relayEpoch}
    status 'OK' | 'FENCED' (a newer lease moved this cursor) | 'MOVED' (the cursor is no longer ARGV[1])
]]
local epoch = tonumber(ARGV[3])
local stored = tonumber(redis.call('HGET', KEYS[1], 'relayEpoch') or '0')
if stored > epoch then return {'FENCED', stored} end
local cur = redis.call('GET', KEYS[2]) or ''
if cur ~= ARGV[1] then return {'MOVED', stored} end
redis.call('SET', KEYS[2], ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'relayEpoch', ARGV[3]) end
redis.call('XTRIM', KEYS[3], 'MINID', ARGV[2])
return {'OK', epoch}
