-- Admission batches: each tick admits a contiguous range of sequence numbers (the waiting queue pops in sequence
-- order), so one record per tick gives every admitted user's expiry, instead of one record per user.
-- wq:{itemId}:entry-batches ZSET: score = the batch's highest sequence, member = '<highestSeq>:<expiresAtMs>'.
-- With priority lanes (includes/lanes.lua) a tick writes one record per lane; each lane owns its own range of
-- place numbers, so the first record at or above a number is still the batch that admitted it.

-- batchExpiry(batchesKey, seq): expiry (epoch ms) of the batch that admitted `seq`; 0 when none.
local function batchExpiry(batchesKey, seq)
  local b = redis.call('ZRANGEBYSCORE', batchesKey, seq, '+inf', 'LIMIT', 0, 1)
  if #b == 0 then return 0 end
  return tonumber(string.match(b[1], ':(%d+)$'))
end
