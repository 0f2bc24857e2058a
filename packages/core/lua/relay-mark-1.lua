--[[
  Marks an existing item as relayed (its hash gets relayEpoch = 0 unless it has one): from then on the scripts
  that append to its outbox no longer trim it (includes/outbox.lua); only the relay does, up to its cursor. The
  relay marks every registered item each round, whether Kafka is reachable or not, so an outage that starts before
  the first publish loses nothing either. A missing item is not created.

  Input:
    KEYS[1] item hash  wq:{itemId}:item

  Output: 1 marked now, 0 already marked or no such item
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'relayEpoch', '0')
