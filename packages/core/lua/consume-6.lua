--[[
  Consumes an admission: removes it from the entry set, once. Compare-and-delete on the sequence number, so a
  token of an earlier, already consumed place of the same user cannot consume a newer one.

  Input:
    KEYS[1..4] item hash, waiting queue, entry set, entry batches (as register-5.lua)
    ARGV[1]    userId
    ARGV[2]    seq the caller verified the token against
    KEYS[5] idempotency records   wq:{itemId}:idempotency          (lua/includes/idempotency.lua)
    KEYS[6] idempotency expiries  wq:{itemId}:idempotency-expiry
    ARGV[3..6] Idempotency-Key ('' : none), request fingerprint, record TTL ms, most records per item

  Output: 1 consumed; 0 not admitted (never, expired, already consumed, or another place's token)
  With an Idempotency-Key: a retry gets the reply recorded for that key and changes nothing; the key recorded
  for another request: {'IDEMPOTENCY_KEY_REUSED'}.
]]
-- @include now
-- @include batch
-- @include idempotency

local function run()
  local seq = redis.call('ZSCORE', KEYS[3], ARGV[1])
  if not seq or seq ~= ARGV[2] then return 0 end
  if batchExpiry(KEYS[4], seq) <= nowMs() then return 0 end
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 1
end

return idempotent(KEYS[5], KEYS[6], ARGV, 3, run)
