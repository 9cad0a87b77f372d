/**
 * The Lua scripts of the Redis store. Each transition is one script, so it is atomic; the keys of
 * one script share a hash tag (one bucket), so it runs on one Cluster slot.
 *
 * Keys of bucket B (prefix P):  P{B}r:<key>  a record: hash state, fp, token | resp
 *                               P{B}epoch    run_id of the server holding this bucket's data
 *                               P{B}fence    exists while new claims in B are refused
 *
 * Loss detection (the guard): writes a server acknowledged can vanish — a restart without
 * persistence, a failover to a replica that had not received them, eviction. The epoch key says
 * on which server process (run_id) the bucket's data was written. If the server answering now is
 * another one (a restart or a failover), or the epoch key is gone, a claim taken before may have
 * been lost while its call to Galileo is still running: the bucket is fenced for one lock TTL,
 * the longest such a call can last, and new claims in it are refused meanwhile. The fence is a
 * key, so every replica respects it, including one started after the loss.
 */

/**
 * Guard of one bucket (KEYS[2] epoch, KEYS[3] fence; ARGV[3] lock TTL ms, ARGV[4] '1' when this
 * client has seen the bucket's epoch key before). Returns nil when claims may proceed, else
 * {remaining fence ms, fence reason, reason detected by this call or ''}.
 *
 * A missing epoch key on a bucket this client never saw may simply be new (a new prefix, a new
 * bucket): a loss then happened at the latest when the server started, so claims lost with it
 * are over one lock TTL after the start. `uptime_in_seconds` is rounded down, so the fence is
 * never short.
 */
const GUARD = `
local function guard(epochKey, fenceKey, lockTtl, known)
  local info = redis.call('INFO', 'server')
  local run = string.match(info, 'run_id:(%x+)')
  local seen = redis.call('GET', epochKey)
  local detected = ''
  if seen ~= run then
    local ms = lockTtl
    if seen then
      detected = 'server_changed'
    else
      detected = 'epoch_missing'
      if known ~= '1' then
        ms = lockTtl - 1000 * tonumber(string.match(info, 'uptime_in_seconds:(%d+)'))
      end
    end
    if ms > 0 then
      if redis.call('PTTL', fenceKey) < ms then redis.call('SET', fenceKey, detected, 'PX', ms) end
    else
      detected = ''
    end
    redis.call('SET', epochKey, run)
  end
  local left = redis.call('PTTL', fenceKey)
  if left > 0 then return {tostring(left), redis.call('GET', fenceKey) or '', detected} end
  return nil
end
`;

/**
 * KEYS record, epoch, fence; ARGV fp, token, lock TTL ms, known, largest resp in bytes. An existing
 * record answers for itself (it is there, whatever was lost around it); only a new claim needs the
 * guard. The reply is a fixed vocabulary, never a stored value in its place, so a record written
 * by someone else cannot pass for a claim: {'CLAIMED'}, {'RECLAIMED'} (an unresolved record of this
 * fingerprint taken over: a new claim, guarded like one), {'HELD', fp}, {'UNRESOLVED', fp} (of
 * another fingerprint), {'CONSUMED', fp, resp?}
 * (resp only on a fingerprint match, since only then is it replayed), {'FENCED', ms, reason,
 * detected}, or {'BAD', why} for a record of the wrong shape or size, which the store refuses.
 */
export const CLAIM_LUA = `${GUARD}
local reclaim = false
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return {'BAD', 'not a hash'} end
  local fpSize = redis.call('HSTRLEN', KEYS[1], 'fp')
  if redis.call('HSTRLEN', KEYS[1], 'state') > 16 or fpSize == 0 or fpSize > 128 then return {'BAD', 'a state or fingerprint of the wrong size'} end
  local state = redis.call('HGET', KEYS[1], 'state')
  local fp = redis.call('HGET', KEYS[1], 'fp')
  if state == 'in_progress' then
    if redis.call('HSTRLEN', KEYS[1], 'token') == 0 then return {'BAD', 'in_progress without a token'} end
    return {'HELD', fp}
  end
  if state == 'unresolved' then
    if fp ~= ARGV[1] then return {'UNRESOLVED', fp} end
    reclaim = true
  else
    if state ~= 'consumed' then return {'BAD', 'an unknown state'} end
    if fp ~= ARGV[1] then return {'CONSUMED', fp} end
    local size = redis.call('HSTRLEN', KEYS[1], 'resp')
    if size == 0 then return {'BAD', 'consumed without a response'} end
    if size > tonumber(ARGV[5]) then return {'BAD', 'a response over the size cap'} end
    return {'CONSUMED', fp, redis.call('HGET', KEYS[1], 'resp')}
  end
end
local fenced = guard(KEYS[2], KEYS[3], tonumber(ARGV[3]), ARGV[4])
if fenced then return {'FENCED', fenced[1], string.sub(fenced[2], 1, 32), fenced[3]} end
redis.call('HSET', KEYS[1], 'state', 'in_progress', 'fp', ARGV[1], 'token', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if reclaim then return {'RECLAIMED'} end
return {'CLAIMED'}
`;

/** KEYS epoch, fence; ARGV lock TTL ms, known. The guard alone: {remaining ms or '0', reason, detected}. */
export const PROBE_LUA = `${GUARD}
local fenced = guard(KEYS[1], KEYS[2], tonumber(ARGV[1]), ARGV[2])
if fenced then return fenced end
return {'0', '', ''}
`;

/** KEYS record; ARGV token, resp, consumed TTL ms. Only the token holder may complete. */
export const COMPLETE_LUA = `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'state', 'consumed', 'resp', ARGV[2])
  redis.call('HDEL', KEYS[1], 'token')
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
`;

/** KEYS record; ARGV token, unresolved TTL ms. Only the token holder may leave it unresolved. */
export const LEAVE_UNRESOLVED_LUA = `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'state', 'unresolved')
  redis.call('HDEL', KEYS[1], 'token')
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** KEYS record; ARGV token. Only the token holder may release. */
export const RELEASE_LUA = `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;
