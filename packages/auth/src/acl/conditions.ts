import { readClaim } from "../jwt/claims.js";
import type { Principal } from "../principal.js";

type Scalar = string | number | boolean;

/** One `when` test of a rule. Conditions of a list must all hold. */
export type AclCondition =
  /** The claim equals this value exactly. */
  | { readonly claim: string; readonly equals: Scalar }
  /** The claim is an array holding the value, or a space-separated string (OAuth `scope`) holding it as a word. */
  | { readonly claim: string; readonly contains: string }
  /** The claim (a string, number or boolean) is one of these. */
  | { readonly claim: string; readonly in: readonly Scalar[] }
  /** The claim is present (true) or absent (false). */
  | { readonly claim: string; readonly exists: boolean }
  /** The connection has (true) or has not (false) a verified token. */
  | { readonly authenticated: boolean };

export function conditionHolds(c: AclCondition, principal: Principal | undefined): boolean {
  if ("authenticated" in c) return c.authenticated === (principal !== undefined);
  const value = principal ? readClaim(principal.claims, c.claim) : undefined;
  if ("exists" in c) return c.exists === (value !== undefined);
  if (value === undefined) return false;
  if ("equals" in c) return value === c.equals;
  if ("in" in c) return (typeof value === "string" || typeof value === "number" || typeof value === "boolean") && c.in.includes(value);
  if (Array.isArray(value)) return value.includes(c.contains);
  if (typeof value === "string") return value.split(/\s+/).includes(c.contains);
  return false;
}
