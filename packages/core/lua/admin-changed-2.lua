--[[
  Appends an `admin.changed` event to an item's outbox, so that the admin audit entry of a change to the item
  reaches Kafka and the ledger like every other event (the scheduler's audit.ts calls it after the change).

  Input:
    KEYS[1] item hash  wq:{itemId}:item
    KEYS[2] outbox     wq:{itemId}:outbox
    ARGV[1] actor      'bearer:<12 hex of SHA-256 of the admin token>' | 'dev mode'
    ARGV[2] action     item-upsert | item-enable | item-disable | restock | fence-clear
    ARGV[3] before     JSON text of the changed fields before (or 'null')
    ARGV[4] after      JSON text of the changed fields after
    ARGV[5] itemId     (for the event id; never parsed out of a key)

  Output: the event id '<itemId>:<n>', or false when the item does not exist.

  Outbox: admin.changed {actor, action, before, after} (before and after as JSON text).
]]
-- @include now
-- @include outbox

if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return emitEvent(ARGV[5], KEYS[1], KEYS[2], 'admin.changed', nowMs(), {'actor', ARGV[1], 'action', ARGV[2], 'before', ARGV[3], 'after', ARGV[4]})
