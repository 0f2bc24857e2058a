--[[
  Creates or updates a waiting item, keeping its queue state (sequence, fence, rates).

  Input:
    KEYS[1] item hash wq:{itemId}:item
    ARGV[1] itemName
    ARGV[2] remainCount (integer >= 0)
    ARGV[3] waitingQueueEnabled ('1' | '0')
    ARGV[4] tokenCountToMove override (integer >= 0); '' removes it (the global N applies); '-' keeps it
    ARGV[5] maxActiveUsers (integer >= 1); '' removes the cap; '-' keeps it

  Output: 1 created, 0 updated
]]
local created = redis.call('EXISTS', KEYS[1]) == 0 and 1 or 0
redis.call('HSET', KEYS[1], 'itemName', ARGV[1], 'remainCount', ARGV[2], 'enabled', ARGV[3])
local optional = {{'tokenCountToMove', ARGV[4]}, {'maxActiveUsers', ARGV[5]}}
for _, f in ipairs(optional) do
  if f[2] == '' then redis.call('HDEL', KEYS[1], f[1])
  elseif f[2] ~= '-' then redis.call('HSET', KEYS[1], f[1], f[2]) end
end
return created
