--[[
  Cancels a reservation: PENDING -> CANCELLED, giving its quantity back to the stock (the queue reopens if the stock
  was 0) and to the user's allowance. A PENDING reservation past its expiresAt is expired here instead (same
  effect on the stock, once): whichever of cancel, confirm and the sweep runs first settles it.

  Input:
    KEYS[1..6] item hash, holdings, reservations, pending reservations, done reservations, outbox
               (as confirm-reservation-8.lua)
    ARGV[1]    reservation number n
    ARGV[2]    itemId (for the events; never parsed out of a key)
    KEYS[7] idempotency records   wq:{itemId}:idempotency          (lua/includes/idempotency.lua)
    KEYS[8] idempotency expiries  wq:{itemId}:idempotency-expiry
    ARGV[3..6] Idempotency-Key ('' : none), request fingerprint, record TTL ms, most records per item

  Output: {status, record JSON}
    'OK'        cancelled now, or already CANCELLED (idempotent)
    'EXPIRED'   it had expired
    'CONFIRMED' it was confirmed (a paid order is not cancelled here)
    {'NOT_FOUND'}

  Outbox: reservation.cancelled {reservationId, userId, quantity, remainCount} (or reservation.expired), and
  item.reopened {remainCount, cause} when the stock comes back from 0.
  With an Idempotency-Key: a retry gets the reply recorded for that key and changes nothing; the key recorded
  for another request: {'IDEMPOTENCY_KEY_REUSED'}.
]]
-- @include settle-request
-- @include idempotency

local function run()
  return settleRequest(KEYS, ARGV[1], ARGV[2], RESERVATION_STATUS.CANCELLED)
end

return idempotent(KEYS[7], KEYS[8], ARGV, 3, run)
