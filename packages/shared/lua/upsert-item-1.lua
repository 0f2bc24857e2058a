--[[
  Creates or updates a waiting item, keeping its queue state (sequence, fence, rates).

  Input:
    KEYS[1] item hash wq:{itemId}:item
    ARGV[1] itemName
    ARGV[2] remainCount (integer >= 0); '-' keeps the stored stock (updates only: stock changed by reservations
            between an operator's read and write is not written back)
    ARGV[3] waitingQueueEnabled ('1' | '0')
    ARGV[4] tokenCountToMove override (integer >= 0); '' removes it (the global N applies); '-' keeps it
    ARGV[5] maxActiveUsers (integer >= 1); '' removes the cap; '-' keeps it
    ARGV[6] targetUrl (order page of admitted shoppers); '' removes it; '-' keeps it (absent: kept)
    ARGV[7]  type 'GENERAL' | 'TIME_DEAL'; '' removes it (GENERAL); '-' keeps it (absent: kept; so for ARGV[8..12])
    ARGV[8]  startAt, epoch ms (a TIME_DEAL refuses registration before it); '' removes it; '-' keeps it
    ARGV[9]  maxPerUser (integer >= 1, reservations); '' removes it (1); '-' keeps it
    ARGV[10] queueMode 'WAITING' | 'DIRECT' (first-come claims, no waiting room); '' removes it (WAITING); '-' keeps it
    ARGV[11] lanes, comma-separated lane names, highest priority first; '' removes them; '-' keeps them
    ARGV[12] maxWaiting (integer >= 1: registration refused with QUEUE_FULL beyond it); '' removes it; '-' keeps it

  Output: 1 created, 0 updated, -1 refused (a new item without remainCount)
]]
local created = redis.call('EXISTS', KEYS[1]) == 0 and 1 or 0
if ARGV[2] == '-' then
  if created == 1 then return -1 end
  redis.call('HSET', KEYS[1], 'itemName', ARGV[1], 'enabled', ARGV[3])
else
  redis.call('HSET', KEYS[1], 'itemName', ARGV[1], 'remainCount', ARGV[2], 'enabled', ARGV[3])
end
local optional = {{'tokenCountToMove', ARGV[4]}, {'maxActiveUsers', ARGV[5]}, {'targetUrl', ARGV[6] or '-'},
  {'type', ARGV[7] or '-'}, {'startAt', ARGV[8] or '-'}, {'maxPerUser', ARGV[9] or '-'}, {'queueMode', ARGV[10] or '-'},
  {'lanes', ARGV[11] or '-'}, {'maxWaiting', ARGV[12] or '-'}}
for _, f in ipairs(optional) do
  if f[2] == '' then redis.call('HDEL', KEYS[1], f[1])
  elseif f[2] ~= '-' then redis.call('HSET', KEYS[1], f[1], f[2]) end
end
return created
