--[[
  The places of several users in one item's queue, in one script call: the order service's validations of one
  item gathered by group commit. Reads only (no last poll is recorded: validations are not the shopper's polls).

  Input:
    KEYS[1..4]  item hash, waiting queue, entry set, entry batches (as register-5.lua)
    ARGV[1..n]  userIds

  Output: a list of n replies, the i-th being status-5.lua's reply for ARGV[i] without a last poll (see there):
  {'NO_ITEM'}, {'NOT_FOUND'} or {status, seq, rank, admitRate, expiresAtMs, remainCount, nowMs}.
]]
-- @include now
-- @include place

local now = nowMs()
local item = redis.call('HMGET', KEYS[1], 'enabled', 'remainCount', 'admitRate')
local replies = {}
for i = 1, #ARGV do
  if not item[1] then
    replies[i] = {'NO_ITEM'}
  else
    local status, seq, rank, exp = placeOf(KEYS[2], KEYS[3], KEYS[4], ARGV[i], now)
    if status then
      replies[i] = {status, seq, rank, item[3] or '0', exp, item[2] or '0', now}
    else
      replies[i] = {'NOT_FOUND'}
    end
  end
end
return replies
