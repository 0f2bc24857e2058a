-- placeOf(waitingKey, entryKey, batchesKey, userId, now): where a user stands in an item's queue.
-- Returns status, seq, rank, expiresAtMs; status is nil when the user holds no place.
--   'ADMITTED': in the entry set and its batch unexpired; rank 0; expiresAtMs = admission expiry.
--   'WAITING' : in the waiting queue; rank is 1-based; expiresAtMs 0.
-- An admission past its expiry (not yet swept) counts as gone.
-- @include batch

local function placeOf(waitingKey, entryKey, batchesKey, userId, now)
  local seq = redis.call('ZSCORE', entryKey, userId)
  if seq then
    local exp = batchExpiry(batchesKey, seq)
    if exp > now then return 'ADMITTED', seq, 0, exp end
  end
  seq = redis.call('ZSCORE', waitingKey, userId)
  if seq then
    return 'WAITING', seq, redis.call('ZRANK', waitingKey, userId) + 1, 0
  end
  return nil, nil, nil, nil
end
