--[[
  Consumes an admission: removes it from the entry set, once. Compare-and-delete on the sequence number, so a
  token of an earlier, already consumed place of the same user cannot consume a newer one.

  Input:
    KEYS[1..4] item hash, waiting queue, entry set, entry sequences (as register-4.lua)
    ARGV[1]    userId
    ARGV[2]    seq the caller verified the token against

  Output: 1 consumed; 0 not admitted (never, expired, already consumed, or another place's token)
]]
-- @include now

local exp = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not exp or tonumber(exp) <= nowMs() then return 0 end
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
