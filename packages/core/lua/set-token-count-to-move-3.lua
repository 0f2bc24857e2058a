--[[
  Sets the global N (tokens per item per tick) for every scheduler.

  Input:
    KEYS[1] global N               wq:config:token-count-to-move
    KEYS[2] idempotency records    {wq:config:token-count-to-move}:idempotency (same slot as KEYS[1])
    KEYS[3] idempotency expiries   {wq:config:token-count-to-move}:idempotency-expiry
    ARGV[1] N (integer >= 0)
    ARGV[2..5] Idempotency-Key ('' : none), request fingerprint, record TTL ms, most records

  Output: {'OK', N}
  With an Idempotency-Key: a retry gets the reply recorded for that key and changes nothing; the key recorded
  for another request: {'IDEMPOTENCY_KEY_REUSED'}.
]]
-- @include idempotency

local function run()
  redis.call('SET', KEYS[1], ARGV[1])
  return {'OK', tonumber(ARGV[1])}
end

return idempotent(KEYS[2], KEYS[3], ARGV, 2, run)
