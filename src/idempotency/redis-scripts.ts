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
 * KEYS record, epoch, fence; ARGV fp, token, lock TTL ms, known. An existing record answers for
 * itself (it is there, whatever was lost around it); only a new claim needs the guard. resp is
 * returned only on a fingerprint match, since only then is it replayed.
 */
export const CLAIM_LUA = `${GUARD}
if redis.call('EXISTS', KEYS[1]) == 1 then
  local r = redis.call('HMGET', KEYS[1], 'state', 'fp', 'resp')
  local state, fp, resp = r[1] or '', r[2] or '', r[3] or ''
  if fp ~= ARGV[1] then resp = '' end
  return {state, fp, resp}
end
local fenced = guard(KEYS[2], KEYS[3], tonumber(ARGV[3]), ARGV[4])
if fenced then return {'fenced', fenced[1], fenced[2], fenced[3]} end
redis.call('HSET', KEYS[1], 'state', 'in_progress', 'fp', ARGV[1], 'token', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'claimed'}
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

/** KEYS record; ARGV token. Only the token holder may release. */
export const RELEASE_LUA = `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;
