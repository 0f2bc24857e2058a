-- placeOf(waitingKey, entryKey, entrySeqKey, userId, now): where a user stands in an item's queue.
-- Returns status, seq, rank, expiresAtMs; status is nil when the user holds no place.
--   'ADMITTED': in the entry set and unexpired; rank 0; expiresAtMs = admission expiry.
--   'WAITING' : in the waiting queue; rank is 1-based; expiresAtMs 0.
-- An admission past its expiry (not yet swept) counts as gone.
local function placeOf(waitingKey, entryKey, entrySeqKey, userId, now)
  local exp = redis.call('ZSCORE', entryKey, userId)
  if exp and tonumber(exp) > now then
    return 'ADMITTED', redis.call('HGET', entrySeqKey, userId), 0, tonumber(exp)
  end
  local seq = redis.call('ZSCORE', waitingKey, userId)
  if seq then
    return 'WAITING', seq, redis.call('ZRANK', waitingKey, userId) + 1, 0
  end
  return nil, nil, nil, nil
end
