--[[
  Acquires or renews the outbox relay's lease, with a fencing token: one relay process publishes at a time, and
  each new holder gets a larger epoch, which relay-cursor-3.lua compares so that a holder that lost the lease (a
  long round, a pause) can no longer move any cursor that a newer holder has moved.

  Input:
    KEYS[1] lease key        wq:{scheduler}:relay-lease, value = holder id
    KEYS[2] epoch counter    wq:{scheduler}:relay-lease-epoch
    ARGV[1] holder id of the caller
    ARGV[2] lease duration, milliseconds
    ARGV[3] optional: the least epoch the holder needs (a cursor fenced by an epoch above the counter, which only a
            counter that went back can cause: the holder raises the counter past it instead of stalling)

  Output: the epoch (> 0) when the caller holds the lease (renewed: the same epoch; acquired: a new one), 0 when
  another holder has it
]]
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
if cur then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('INCR', KEYS[2])
end
local atLeast = tonumber(ARGV[3] or '0') or 0
local epoch = tonumber(redis.call('GET', KEYS[2]) or '0')
if epoch < atLeast then
  redis.call('SET', KEYS[2], string.format('%d', atLeast))
  epoch = atLeast
end
return epoch
