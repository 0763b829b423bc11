import { createHash } from 'node:crypto';

/** A Lua script with its SHA-1 (for EVALSHA). */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

// Shared Lua: sets the idle expiry of the hash from its `t` field.
const EXPIRE = `
local function expire(k, grace)
  local t = tonumber(redis.call('HGET', k, 't'))
  if t == nil or t < 0 then
    redis.call('PERSIST', k)
  else
    redis.call('PEXPIRE', k, t * 1000 + grace)
  end
end
`;

// A retry of the last write (same request id) answers its version without applying again.
const RETRIED = `
local function retried(k, rid)
  local q = redis.call('HGET', k, 'q')
  if q then
    local sp = string.find(q, ' ', 1, true)
    if sp and string.sub(q, 1, sp - 1) == rid then return tonumber(string.sub(q, sp + 1)) end
  end
  return nil
end
`;

/**
 * Applies one delta atomically. KEYS[1] = the hash. ARGV: requestId, expected version ('' = no
 * compare), grace ms, invalidate ('1'/'0'), maxInactive ('' = unchanged), principal ('' =
 * unchanged, '-' = clear, else JSON), touchAt ('' = none), number of sets, then the sets as
 * field/value pairs, then the fields to remove.
 * Returns {0, v} applied; {1, v} a retry; {2, v} invalidated; {-1} absent; {-2, v} CAS failed.
 */
export const APPLY = script(`${EXPIRE}${RETRIED}
local k = KEYS[1]
local v = redis.call('HGET', k, 'v')
if not v then return {-1} end
local again = retried(k, ARGV[1])
if again then return {1, again} end
if ARGV[2] ~= '' and ARGV[2] ~= v then return {-2, tonumber(v)} end
if ARGV[4] == '1' then
  redis.call('DEL', k)
  return {2, tonumber(v)}
end
local nsets = tonumber(ARGV[8])
local i = 9
for _ = 1, nsets do
  redis.call('HSET', k, ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('HDEL', k, ARGV[i])
  i = i + 1
end
local reexpire = false
if ARGV[5] ~= '' then
  redis.call('HSET', k, 't', ARGV[5])
  reexpire = true
end
if ARGV[6] == '-' then
  redis.call('HDEL', k, 'p')
elseif ARGV[6] ~= '' then
  redis.call('HSET', k, 'p', ARGV[6])
end
if ARGV[7] ~= '' then
  local a = tonumber(redis.call('HGET', k, 'a'))
  if a == nil or tonumber(ARGV[7]) > a then redis.call('HSET', k, 'a', ARGV[7]) end
  redis.call('HSET', k, 'n', '0')
  reexpire = true
end
local nv = redis.call('HINCRBY', k, 'v', 1)
redis.call('HSET', k, 'q', ARGV[1] .. ' ' .. nv)
if reexpire then expire(k, tonumber(ARGV[3])) end
return {0, nv}
`);

/**
 * Creates a session. KEYS[1] = the hash. ARGV: requestId, grace ms, then field/value pairs (the
 * whole hash but `v` and `q`). Returns {0, 1} created; {1, v} a retry; {-3} the key exists.
 */
export const CREATE = script(`${EXPIRE}${RETRIED}
local k = KEYS[1]
if redis.call('EXISTS', k) == 1 then
  local again = retried(k, ARGV[1])
  if again then return {1, again} end
  return {-3}
end
local i = 3
while i < #ARGV do
  redis.call('HSET', k, ARGV[i], ARGV[i + 1])
  i = i + 2
end
redis.call('HSET', k, 'v', '1', 'q', ARGV[1] .. ' 1')
expire(k, tonumber(ARGV[2]))
return {0, 1}
`);

/**
 * Records an access. KEYS[1] = the hash. ARGV: at (ms), grace ms. Returns 1, or 0 if absent.
 */
export const TOUCH = script(`${EXPIRE}
local k = KEYS[1]
local a = redis.call('HGET', k, 'a')
if not a then return 0 end
if tonumber(ARGV[1]) > tonumber(a) then redis.call('HSET', k, 'a', ARGV[1]) end
redis.call('HSET', k, 'n', '0')
expire(k, tonumber(ARGV[2]))
return 1
`);

/** Touches (as {@link TOUCH}) and returns HGETALL in one call; an empty array if absent. */
export const LOAD_TOUCH = script(`${EXPIRE}
local k = KEYS[1]
local a = redis.call('HGET', k, 'a')
if not a then return {} end
if tonumber(ARGV[1]) > tonumber(a) then redis.call('HSET', k, 'a', ARGV[1]) end
redis.call('HSET', k, 'n', '0')
expire(k, tonumber(ARGV[2]))
return redis.call('HGETALL', k)
`);

/**
 * A conditional load. KEYS[1] = the hash. ARGV: known version, touchAt ('' = none), grace ms.
 * Returns {} when absent, 1 when the version is still the known one, else HGETALL.
 */
export const REVALIDATE = script(`${EXPIRE}
local k = KEYS[1]
local v = redis.call('HGET', k, 'v')
if not v then return {} end
if ARGV[2] ~= '' then
  local a = tonumber(redis.call('HGET', k, 'a'))
  if tonumber(ARGV[2]) > a then redis.call('HSET', k, 'a', ARGV[2]) end
  redis.call('HSET', k, 'n', '0')
  expire(k, tonumber(ARGV[3]))
end
if v == ARGV[1] then return 1 end
return redis.call('HGETALL', k)
`);
