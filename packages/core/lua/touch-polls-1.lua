--[[
  Records the last poll of waiting users who polled an api process since its previous flush (polls answered from
  memory write their last polls behind, at most once a second per item and process: poll-recorder.ts). One Redis
  time for all of them.

  Input:
    KEYS[1] last polls  wq:{itemId}:last-poll  (member userId, score = epoch ms)
    ARGV    userIds

  Only users already in KEYS[1] are updated (ZADD XX): registration adds a waiting user, admission and abandonment
  remove them, so a late flush never brings back a user who stopped waiting.

  Output: the number of users whose last poll changed.
]]
-- @include now

local now = string.format('%d', nowMs())
local updated = 0
-- 3000 pairs stay under Lua's C stack limit (8000) for unpack.
for first = 1, #ARGV, 3000 do
  local args = {}
  for i = first, math.min(first + 2999, #ARGV) do
    args[#args + 1] = now
    args[#args + 1] = ARGV[i]
  end
  updated = updated + redis.call('ZADD', KEYS[1], 'XX', 'CH', unpack(args))
end
return updated
