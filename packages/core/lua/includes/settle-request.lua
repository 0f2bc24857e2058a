-- settleRequest(keys, n, itemId, wanted): settles reservation n as a client asked (confirm-reservation-8.lua:
-- CONFIRMED, cancel-reservation-8.lua: CANCELLED), and gives those scripts' reply.
-- Inputs:
--   keys    the script's KEYS; keys[1..6] item hash, holdings, reservations, pending reservations, done reservations,
--           outbox (wq:{itemId}:item, :holdings, :reservations, :reservations-pending, :reservations-done, :outbox)
--   n       reservation number (the part after the '.' of the id '<itemId>.<n>')
--   itemId  for the events; never parsed out of a key
--   wanted  RESERVATION_STATUS.CONFIRMED or RESERVATION_STATUS.CANCELLED
-- Only a PENDING reservation changes: to `wanted`, or to EXPIRED when it is past its expiresAt (Redis clock), as the
-- scheduler's sweep would (settleReservation in includes/reservation.lua: the record, the sets, the stock, the events).
-- Output: {'OK', record JSON} when it is `wanted` now (settled now, or before: idempotent); {status, record JSON}
-- with its other status (EXPIRED, CONFIRMED or CANCELLED) otherwise; {'NOT_FOUND'} when there is no such record.
-- @include now
-- @include reservation

local function settleRequest(keys, n, itemId, wanted)
  local now = nowMs()
  local k = {itemId = itemId, item = keys[1], holdings = keys[2], reservations = keys[3], pending = keys[4], done = keys[5], outbox = keys[6]}
  local r = loadReservation(keys[3], n)
  if not r then return {'NOT_FOUND'} end
  if r.status == RESERVATION_STATUS.PENDING then
    settleReservation(k, n, r, now >= r.expiresAt and RESERVATION_STATUS.EXPIRED or wanted, now)
  end
  return {r.status == wanted and 'OK' or r.status, reservationJson(r)}
end
