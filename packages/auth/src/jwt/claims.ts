/**
 * Reads a claim by name: first the exact key (namespaced claims such as
 * "https://example.com/roles" contain dots), then as a dotted path into nested
 * objects ("realm_access.roles").
 */
export function readClaim(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(claims, name)) return claims[name];
  if (!name.includes(".")) return undefined;
  let cur: unknown = claims;
  for (const part of name.split(".")) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v as object)) deepFreeze(child);
  }
  return v;
}

/** The verified claims, frozen so no consumer can alter what the token said. */
export function freezeClaims(payload: object): Readonly<Record<string, unknown>> {
  return deepFreeze(structuredClone(payload) as Record<string, unknown>);
}
