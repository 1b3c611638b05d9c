export { AuthError, type AuthErrorReason } from "./errors.js";
export type { Principal } from "./principal.js";

export type { JwtConfig, JwtKeyConfig } from "./jwt/jwt-config.js";
export type { JwsAlgorithm } from "./jwt/algorithms.js";
export { jwtConfigFromEnv } from "./jwt/jwt-env.js";
export { createTokenVerifier, type TokenVerifier } from "./jwt/token-verifier.js";
export { readClaim } from "./jwt/claims.js";

export { extractToken, type TokenSources } from "./token-extraction.js";
export { msUntilExpiry, checkRefresh } from "./expiry.js";

export { normalizeDestination, MAX_DESTINATION_LENGTH, type NormalizedDestination } from "./acl/destination.js";
export { DestinationPattern, PatternError } from "./acl/pattern.js";
export type { AclCondition } from "./acl/conditions.js";
export { AclError } from "./acl/acl-error.js";
export { DEFAULT_ACL, OPEN_ACL, parseAclRules, parseAclText, loadAclFile, aclRulesFromEnv, type AclRule, type AclRules } from "./acl/rules.js";
export { createAuthorizer, type Authorizer, type AuthorizerOptions, type Decision, type ReservedPrefix } from "./acl/authorizer.js";

export { TokenBucket } from "./limits/token-bucket.js";
export { ConnectionCounter } from "./limits/connection-counter.js";
export { limitsConfigFromEnv, DEFAULT_LIMITS, type LimitsConfig } from "./limits/limits-config.js";
