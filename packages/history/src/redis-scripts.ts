/**
 * The two Lua scripts of RedisHistory. Each runs atomically on the shard that owns the
 * destination's keys (see redis-keys.ts), which is what makes offsets, stream order and
 * delivery order one and the same.
 *
 * A meta hash without the stream is fine (the stream was trimmed away or evicted: reads say
 * "too-old"); a stream without its meta hash is a leftover of a lost incarnation and is
 * deleted when the new epoch is created, so offsets can restart at 1.
 */

/**
 * KEYS: meta, stream, recent ids (list of "<offset> <message id>", newest first).
 * ARGV: envelope (bus envelope v1 without position), epoch to use if the stream is new,
 *       maxlen, ttl in ms, channel, "publish" | "spublish", trim mode "=" | "~",
 *       dedupe window (0 = off), message id.
 * Returns { offset, epoch, duplicate (0|1) }. A message id seen among the last `window`
 * appends is a retry of a publish that already happened (its reply was lost): the original
 * position is returned and nothing is appended or published again.
 *
 * The position is spliced into the envelope's JSON header here, because only here is it known:
 *   [1]=0x01  [2..5]=header length (uint32 BE)  [6..5+n]=header JSON object  [6+n..]=body
 */
export const PUBLISH_SCRIPT = `
local meta, stream, recent = KEYS[1], KEYS[2], KEYS[3]
local env = ARGV[1]
local window = tonumber(ARGV[8])
local id = ARGV[9]
if #env < 7 or string.byte(env, 1) ~= 1 then
  return redis.error_reply('ERR herald history: the payload is not a version 1 bus envelope')
end
local n = struct.unpack('>I4', env, 2)
if n < 3 or 5 + n > #env or string.sub(env, 5 + n, 5 + n) ~= '}' then
  return redis.error_reply('ERR herald history: malformed bus envelope header')
end
local epoch = redis.call('HGET', meta, 'e')
if not epoch then
  epoch = ARGV[2]
  redis.call('DEL', stream, recent)
  redis.call('HSET', meta, 'e', epoch)
elseif window > 0 and id ~= '' then
  for _, r in ipairs(redis.call('LRANGE', recent, 0, window - 1)) do
    local sp = string.find(r, ' ', 1, true)
    if sp and string.sub(r, sp + 1) == id then return {tonumber(string.sub(r, 1, sp - 1)), epoch, 1} end
  end
end
local offset = redis.call('HINCRBY', meta, 'n', 1)
local p = ',"p":[' .. offset .. ',"' .. epoch .. '"]}'
local out = string.char(1) .. struct.pack('>I4', n - 1 + #p) .. string.sub(env, 6, 4 + n) .. p .. string.sub(env, 6 + n)
redis.call('XADD', stream, 'MAXLEN', ARGV[7], ARGV[3], offset .. '-0', 'e', out)
redis.call('PEXPIRE', meta, ARGV[4])
redis.call('PEXPIRE', stream, ARGV[4])
if window > 0 and id ~= '' then
  redis.call('LPUSH', recent, offset .. ' ' .. id)
  redis.call('LTRIM', recent, 0, window - 1)
  redis.call('PEXPIRE', recent, ARGV[4])
end
redis.call(ARGV[6], ARGV[5], out)
return {offset, epoch, 0}
`;

/**
 * KEYS: meta, stream, recent ids.
 * ARGV: since offset ("" = only the top), since epoch ("" with offset 0: from the start of the
 *       current epoch), limit.
 * Returns { epoch, top } or { epoch, top, status [, envelopes] } with status
 * "ok" | "epoch-changed" | "too-old"; envelopes are those after `since`, at most `limit`.
 * Writes nothing: a stream that does not exist reads as epoch "" and top 0 (only publishing
 * creates a stream, so subscribers cannot fill Redis with keys).
 */
export const READ_SCRIPT = `
local meta, stream = KEYS[1], KEYS[2]
local m = redis.call('HMGET', meta, 'e', 'n')
local epoch = m[1] or ''
local top = tonumber(m[2]) or 0
if ARGV[1] == '' then return {epoch, top} end
local since = tonumber(ARGV[1])
local sinceEpoch = ARGV[2]
if sinceEpoch == '' and since == 0 then sinceEpoch = epoch end
if sinceEpoch ~= epoch or since > top then return {epoch, top, 'epoch-changed'} end
if since == top then return {epoch, top, 'ok', {}} end
local first = (since + 1) .. '-0'
local entries = redis.call('XRANGE', stream, first, '+', 'COUNT', ARGV[3])
if #entries == 0 or entries[1][1] ~= first then return {epoch, top, 'too-old'} end
local out = {}
for i, e in ipairs(entries) do out[i] = e[2][2] end
return {epoch, top, 'ok', out}
`;
