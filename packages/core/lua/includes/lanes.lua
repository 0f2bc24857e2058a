-- Priority lanes. A place number (the "seq" of tokens, waiting queue and entry set scores) carries its lane: on an
-- item with lanes {l1, ..., lk} (highest priority first), a user of lane li gets seq - (k - i) * LANE_SPAN, where
-- seq is the item's sequence (HINCRBY). The last (default) lane keeps seq itself, so an item without lanes is
-- numbered exactly as before. Lane r (counted from the last one, 0-based) owns the numbers in
-- (-r * LANE_SPAN, (1 - r) * LANE_SPAN): ZPOPMIN drains higher lanes first and each lane stays FIFO, a token's
-- HMAC covers its lane, and a batch record (includes/batch.lua) and the admissions it covers lie in one lane's range.
-- Adding a lane in front keeps the numbers of the existing lanes (they are counted from the last one).

-- LANE_SPAN = 2^40 places per lane (lua-constants.ts, with MAX_LANES): every number stays below 2^53, so it is
-- exact in Redis scores and Lua doubles.
-- @const LANE_SPAN

-- laneOf(n): the lane (0 = the last, default lane) of place number n.
local function laneOf(n)
  if n > 0 then return 0 end
  return math.ceil((1 - n) / LANE_SPAN)
end

-- laneNames(csv): the item's lanes (hash field 'lanes', comma-separated, highest first) as a list; {} when none.
local function laneNames(csv)
  local names = {}
  if csv then
    for l in string.gmatch(csv, '[^,]+') do names[#names + 1] = l end
  end
  return names
end

-- laneRank(csv, name): r of lane `name`; 0 (the last lane) when the item has no lanes or does not know `name`.
local function laneRank(csv, name)
  if not csv or not name or name == '' then return 0 end
  local names = laneNames(csv)
  for i = 1, #names do
    if names[i] == name then return #names - i end
  end
  return 0
end

-- laneSeqField(r): the item hash field holding lane r's own sequence: 'seq' for the last lane (an item without
-- lanes is numbered as before), 'seq:<r>' for lane r > 0 (keys.ts, ItemField.laneSeq). Each lane numbering its own
-- places makes the place numbers of one lane contiguous, so that an api process can count the places ahead of a
-- token from a snapshot (lua/snapshot-5.lua) without reading the waiting queue.
local function laneSeqField(r)
  if r == 0 then return 'seq' end
  return 'seq:' .. r
end

-- laneName(csv, r): the name of lane r, or nil (no lanes, or a lane removed since).
local function laneName(csv, r)
  local names = laneNames(csv)
  return names[#names - r]
end

-- fmtInt(n): an integral number as a decimal string (tostring would use %.14g).
local function fmtInt(n)
  return string.format('%d', n)
end
