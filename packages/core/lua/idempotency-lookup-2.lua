--[[
  Looks up an Idempotency-Key record without changing anything: for writes whose checks before their script
  (e.g. "is this token admitted?") would refuse the retry of a change that already happened, so that the retry
  gets the recorded reply instead.

  Input:
    KEYS[1] records   (keys.ts: wq:{itemId}:idempotency, or the global N's)
    KEYS[2] expiries  (wq:{itemId}:idempotency-expiry)
    ARGV[1] idempotency key
    ARGV[2] fingerprint of the request

  Output: {'NONE'} | {'REUSED'} | {'REPLAY', reply as JSON}
]]
-- @include idempotency

local state, reply = idempotencyLookup(KEYS[1], KEYS[2], ARGV[1], ARGV[2], nowMs())
if state == 'REPLAY' then return {'REPLAY', cjson.encode(reply)} end
return {state}
