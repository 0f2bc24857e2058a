-- The outbox: every state change of an item appends its event to the item's stream wq:{itemId}:outbox in the
-- same script, so in the same atomic step as the change (a relay publishes the stream later; see keys.ts). Entry:
--   id       '<itemId>:<n>', n = HINCRBY of the item hash's 'eventSeq': unique and stable (consumers dedupe on it)
--   type     batch.admitted | reservation.created | reservation.confirmed | reservation.cancelled |
--            reservation.expired | claim.issued | item.sold_out | item.reopened | item.restocked | admin.changed
--   itemId   the item
--   at       epoch ms, Redis clock
--   payload  a JSON object; its fields per type are listed in packages/core/src/events.ts (EventPayloads)
-- Trimming: once a relay has seen the item (the item hash has 'relayEpoch', set by relay-mark-1.lua and moved by
-- relay-cursor-3.lua), the stream is never trimmed here: only the relay trims it, up to its cursor (XTRIM MINID), so
-- events not yet published wait however long Kafka is down. An item no relay has seen (no KAFKA_BROKERS) keeps the
-- bound XADD MAXLEN ~ OUTBOX_MAXLEN, so that an outbox nothing reads cannot fill Redis.

-- @const OUTBOX_MAXLEN

-- jsonValue(v): JSON text of a string, integral number, boolean or cjson.null (integers exact up to 2^53).
local function jsonValue(v)
  local t = type(v)
  if t == 'number' then
    if v == math.floor(v) and v > -9007199254740992 and v < 9007199254740992 then return string.format('%d', v) end
    return cjson.encode(v)
  elseif t == 'boolean' then
    return v and 'true' or 'false'
  elseif v == nil or v == cjson.null then
    return 'null'
  end
  return cjson.encode(tostring(v))
end

-- jsonObject(kv): JSON object text of the flat list {key1, value1, key2, value2, ...}, keys in that order.
-- Use cjson.null, not nil, for a null value (nil would end the list).
local function jsonObject(kv)
  local parts = {}
  for i = 1, #kv, 2 do
    parts[#parts + 1] = cjson.encode(kv[i]) .. ':' .. jsonValue(kv[i + 1])
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

-- emitEvent(itemId, itemKey, outboxKey, eventType, at, kv): appends one event (payload = jsonObject(kv)); returns its
-- id. itemId comes from the caller (an ARGV), never parsed out of a key. The item must exist (the id counter lives
-- in its hash).
local function emitEvent(itemId, itemKey, outboxKey, eventType, at, kv)
  local id = itemId .. ':' .. string.format('%d', redis.call('HINCRBY', itemKey, 'eventSeq', 1))
  local fields = {'id', id, 'type', eventType, 'itemId', itemId, 'at', string.format('%d', at), 'payload', jsonObject(kv)}
  if redis.call('HEXISTS', itemKey, 'relayEpoch') == 1 then
    redis.call('XADD', outboxKey, '*', unpack(fields))
  else
    redis.call('XADD', outboxKey, 'MAXLEN', '~', OUTBOX_MAXLEN, '*', unpack(fields))
  end
  return id
end

-- stockEvents(itemId, itemKey, outboxKey, before, after, at, cause): item.sold_out when the stock reaches 0 from above,
-- item.reopened when it comes back above 0 (cause: reservation | claim | cancel | expiry | restock).
local function stockEvents(itemId, itemKey, outboxKey, before, after, at, cause)
  if before > 0 and after <= 0 then
    emitEvent(itemId, itemKey, outboxKey, 'item.sold_out', at, {'remainCount', after, 'cause', cause})
  elseif before <= 0 and after > 0 then
    emitEvent(itemId, itemKey, outboxKey, 'item.reopened', at, {'remainCount', after, 'cause', cause})
  end
end
