/**
 * Records which notification an idempotency key was first used for, next to BullMQ's
 * deduplication key (which holds only the job id). One script for all keyed items of
 * a request, so a batch costs one round trip and two requests racing for the same key
 * are ordered by Redis: the second sees the first's fingerprint.
 *
 * KEYS: per item, its fingerprint key, then its BullMQ deduplication key (both under
 * the queue's prefix, so they share the queue's hash slot on a cluster).
 * ARGV[1]: the idempotency TTL in ms; ARGV[2]: a margin in ms; ARGV[2 + i]: item i's
 * fingerprint. Answers, per item, 1 (go ahead and add) or 0 (used for another notification).
 *
 * The fingerprint must outlive the deduplication key, or a different notification
 * could later be answered with the old id: while that key lives (beyond the margin,
 * which covers it expiring before the add that follows), the fingerprint is kept at
 * least as long; when it is gone or about to go, the add will set a fresh 24 h one,
 * so the fingerprint gets 24 h too. Items are handled in order, so a key repeated
 * within one batch is checked against its first use.
 */
export const CLAIM_FINGERPRINTS_LUA = `
local ttl = tonumber(ARGV[1])
local margin = tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS / 2 do
  local fpKey, deKey, fp = KEYS[2 * i - 1], KEYS[2 * i], ARGV[2 + i]
  local cur = redis.call('GET', fpKey)
  if cur and cur ~= fp then
    out[i] = 0
  else
    local left = redis.call('PTTL', deKey)
    if left > margin then
      if not cur then redis.call('SET', fpKey, fp, 'PX', left + margin) end
    else
      redis.call('SET', fpKey, fp, 'PX', ttl + margin)
    end
    out[i] = 1
  end
end
return out
`;

/**
 * Room for the add that follows a claim to run late (an add that timed out may still
 * run after a reconnect). Erring long only means a different notification is refused
 * for up to this long after 24 h instead of being accepted: the safe side.
 */
export const CLAIM_MARGIN_MS = 60 * 60 * 1000;
