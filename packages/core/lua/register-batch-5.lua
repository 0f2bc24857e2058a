--[[
  Registers the users of one group commit in one item's waiting queue: each in turn, in the order given (their
  order of arrival), exactly as register-5.lua would one after another (includes/register.lua holds the shared
  logic), in one atomic script. A user named twice gets the same place twice (one place per user per item).

  Input:
    KEYS[1..5]  as register-5.lua: item hash, waiting queue, entry set, entry batches, last polls
    ARGV[1]     '1': record each waiting user's last poll (abandonment on); '': do not
    ARGV[2i], ARGV[2i+1] (i = 1..n)  user i's userId and lane name ('' or unknown: the item's last lane)

  Output: a list of n replies, the i-th being register-5.lua's reply for user i (see there). All share one Redis
  time (nowMs).
]]
-- @include now
-- @include register

local now = nowMs()
local item = readItem(KEYS[1])
local trackPoll = ARGV[1] == '1'
local replies = {}
for i = 2, #ARGV, 2 do
  replies[#replies + 1] = registerOne(KEYS, item, ARGV[i], ARGV[i + 1], trackPoll, now)
end
return replies
