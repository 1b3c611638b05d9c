export * from "./frame.js";
export { StompCodecError, type StompCodecErrorCode } from "./errors.js";
export { canCarryHeader, escapeHeaderName, escapeHeaderValue, headerUnsafeForSomeVersion, unescapeHeaderValue } from "./escape.js";
export { DEFAULT_LIMITS, StompParser, type ParserLimits, type ParserOptions } from "./parser.js";
export { HEARTBEAT_EOL, serializeFrame } from "./serializer.js";
