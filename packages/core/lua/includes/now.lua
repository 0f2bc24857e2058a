-- nowMs(): Redis server time in epoch milliseconds. All expiry and tick decisions use the clock of the Redis node
-- that holds the item, never a host clock of an api or scheduler process.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
