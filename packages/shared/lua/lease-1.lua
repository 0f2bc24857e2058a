--[[
  Acquires or renews a lease held by one process among several (e.g. the outbox relay: one publisher at a time
  keeps the Kafka stream in outbox order).

  Input:
    KEYS[1] lease key, value = holder id
    ARGV[1] holder id of the caller
    ARGV[2] lease duration, milliseconds

  Output: 1 the caller holds the lease (acquired or renewed), 0 another holder has it
]]
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
