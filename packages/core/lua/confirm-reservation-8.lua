--[[
  Confirms a reservation: PENDING -> CONFIRMED (the order is paid). A PENDING reservation past its expiresAt is
  expired here instead (stock given back), exactly as the scheduler's sweep would: whichever of the two scripts
  runs first settles it, atomically, and the other finds it no longer PENDING.

  Input:
    KEYS[1..6] item hash, holdings, reservations, pending reservations, done reservations, outbox
               (wq:{itemId}:item, :holdings, :reservations, :reservations-pending, :reservations-done, :outbox)
    ARGV[1]    reservation number n (the part after the '.' of the id '<itemId>.<n>')
    ARGV[2]    itemId (for the events; never parsed out of a key)
    KEYS[7] idempotency records   wq:{itemId}:idempotency          (lua/includes/idempotency.lua)
    KEYS[8] idempotency expiries  wq:{itemId}:idempotency-expiry
    ARGV[3..6] Idempotency-Key ('' : none), request fingerprint, record TTL ms, most records per item

  Output: {status, record JSON}
    'OK'        confirmed now, or already CONFIRMED (idempotent)
    'EXPIRED'   it had expired (now, or earlier)
    'CANCELLED' it was cancelled
    {'NOT_FOUND'} unknown (or purged after the retention)

  Outbox: reservation.confirmed {reservationId, userId, quantity}; or, when it expires here, reservation.expired
  {reservationId, userId, quantity, remainCount} and item.reopened if the stock comes back from 0.
  With an Idempotency-Key: a retry gets the reply recorded for that key and changes nothing; the key recorded
  for another request: {'IDEMPOTENCY_KEY_REUSED'}.
]]
-- @include settle-request
-- @include idempotency

local function run()
  return settleRequest(KEYS, ARGV[1], ARGV[2], RESERVATION_STATUS.CONFIRMED)
end

return idempotent(KEYS[7], KEYS[8], ARGV, 3, run)
