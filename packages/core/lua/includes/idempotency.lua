-- Idempotency-Key records (keys.ts): a write called with a key runs its change and records its reply under that
-- key in the same script, so the change and the record cannot part; a retry with the same key gets the recorded
-- reply and changes nothing. Records of one hash slot (an item's, or the global N's):
--   records  HASH key -> cjson {f = fingerprint of the request, r = the script's reply}
--   expiries ZSET key by expiry, epoch ms (Redis clock)
-- Memory stays bounded: each store drops up to IDEMPOTENCY_TRIM expired records and, beyond maxKeys records, the
-- oldest ones; both keys expire ttl after the last store (a slot nobody writes any more leaves nothing behind).
-- @include now

local IDEMPOTENCY_TRIM = 10

-- idempotencyLookup(recordsKey, expiriesKey, key, fingerprint, now): 'NONE' (no live record), 'REUSED' (a record
-- of another request), or 'REPLAY' and the recorded reply.
local function idempotencyLookup(recordsKey, expiriesKey, key, fingerprint, now)
  local expiry = redis.call('ZSCORE', expiriesKey, key)
  if not expiry or tonumber(expiry) <= now then return 'NONE' end
  local raw = redis.call('HGET', recordsKey, key)
  if not raw then return 'NONE' end
  local record = cjson.decode(raw)
  if record.f ~= fingerprint then return 'REUSED' end
  return 'REPLAY', record.r
end

-- idempotencyStore(recordsKey, expiriesKey, key, fingerprint, reply, now, ttlMs, maxKeys): records `reply`.
local function idempotencyStore(recordsKey, expiriesKey, key, fingerprint, reply, now, ttlMs, maxKeys)
  local expired = redis.call('ZRANGEBYSCORE', expiriesKey, '-inf', now, 'LIMIT', 0, IDEMPOTENCY_TRIM)
  if #expired > 0 then
    redis.call('HDEL', recordsKey, unpack(expired))
    redis.call('ZREM', expiriesKey, unpack(expired))
  end
  redis.call('HSET', recordsKey, key, cjson.encode({f = fingerprint, r = reply}))
  redis.call('ZADD', expiriesKey, now + ttlMs, key)
  local excess = redis.call('ZCARD', expiriesKey) - maxKeys
  if excess > 0 then
    local oldest = redis.call('ZPOPMIN', expiriesKey, math.min(excess, IDEMPOTENCY_TRIM))
    for i = 1, #oldest, 2 do redis.call('HDEL', recordsKey, oldest[i]) end
  end
  redis.call('PEXPIRE', recordsKey, ttlMs)
  redis.call('PEXPIRE', expiriesKey, ttlMs)
end

-- idempotent(recordsKey, expiriesKey, argv, at, run): the reply of run(), run at most once per idempotency key.
-- argv[at .. at + 3] = key ('' or absent: no key, run() as is), fingerprint, ttl ms, most records of the slot.
-- A key recorded for another request: {'IDEMPOTENCY_KEY_REUSED'}, and run() does not run.
-- run() may return a second value, true, for a refusal that changed nothing (e.g. a claim on an item that does not
-- exist, is not open yet or is sold out): such a reply is not recorded, so a retry asks again, and requests that
-- change nothing (which anonymous clients can send without end) neither cost memory nor push other records out.
local function idempotent(recordsKey, expiriesKey, argv, at, run)
  local key = argv[at]
  if key == nil or key == '' then return run() end
  local fingerprint = argv[at + 1]
  local now = nowMs()
  local state, recorded = idempotencyLookup(recordsKey, expiriesKey, key, fingerprint, now)
  if state == 'REPLAY' then return recorded end
  if state == 'REUSED' then return {'IDEMPOTENCY_KEY_REUSED'} end
  local reply, unchanged = run()
  if unchanged then return reply end
  idempotencyStore(recordsKey, expiriesKey, key, fingerprint, reply, now, tonumber(argv[at + 2]), tonumber(argv[at + 3]))
  return reply
end
