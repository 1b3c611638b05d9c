import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parseDocument } from "yaml";
import { readString, type Env } from "@herald/config";
import { AclError } from "./acl-error.js";
import type { AclCondition } from "./conditions.js";
import { DestinationPattern, PatternError } from "./pattern.js";

/** One checked rule. */
export interface AclRule {
  /** Position in the file's `rules` list (for messages); -1 for built-in defaults. */
  readonly index: number;
  readonly name?: string;
  readonly effect: "allow" | "deny";
  readonly subscribe: readonly DestinationPattern[];
  readonly send: readonly DestinationPattern[];
  readonly when: readonly AclCondition[];
}

/** A checked rule set, ready for createAuthorizer. */
export interface AclRules {
  /** Where the rules came from: a file path, or "<defaults>". */
  readonly source: string;
  readonly rules: readonly AclRule[];
}

const RULE_FIELDS = ["name", "subscribe", "send", "when", "effect"];
const TOP_FIELDS = ["rules", "defaults"];
const CONDITION_OPS = ["equals", "contains", "in", "exists"];

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "object" ? "a mapping" : `${typeof v} ${JSON.stringify(v)}`;
}

function unknownField(obj: Record<string, unknown>, allowed: readonly string[], fail: (path: string, msg: string) => never, at: (k: string) => string): void {
  for (const k of Object.keys(obj))
    if (!allowed.includes(k)) fail(at(k), `unknown field; expected one of ${allowed.join(", ")}`);
}

function parsePatterns(v: unknown, path: string, fail: (path: string, msg: string) => never): DestinationPattern[] {
  if (v === undefined) return [];
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || list.length === 0) fail(path, `expected a destination pattern or a non-empty list of them, got ${typeName(v)}`);
  return list.map((p, i) => {
    const at = typeof v === "string" ? path : `${path}[${i}]`;
    if (typeof p !== "string") fail(at, `expected a destination pattern string, got ${typeName(p)}`);
    try {
      return new DestinationPattern(p);
    } catch (e) {
      if (e instanceof PatternError) fail(at, `bad pattern ${JSON.stringify(p)}: ${e.message}`);
      throw e;
    }
  });
}

function parseCondition(v: unknown, path: string, fail: (path: string, msg: string) => never): AclCondition {
  if (!isObject(v)) fail(path, `expected a condition mapping such as { claim: scope, contains: stocks }, got ${typeName(v)}`);
  if ("authenticated" in v) {
    unknownField(v, ["authenticated"], fail, (k) => `${path}.${k}`);
    if (typeof v.authenticated !== "boolean") fail(`${path}.authenticated`, `expected true or false, got ${typeName(v.authenticated)}`);
    return { authenticated: v.authenticated };
  }
  unknownField(v, ["claim", ...CONDITION_OPS], fail, (k) => `${path}.${k}`);
  const claim = v.claim;
  if (typeof claim !== "string" || claim === "") fail(`${path}.claim`, `expected a non-empty claim name, got ${typeName(claim)}`);
  const ops = CONDITION_OPS.filter((o) => o in v);
  if (ops.length !== 1) fail(path, `expected exactly one of ${CONDITION_OPS.join(", ")}, got ${ops.length === 0 ? "none" : ops.join(" and ")}`);
  const op = ops[0];
  const val = v[op];
  const scalar = (x: unknown): x is string | number | boolean => typeof x === "string" || typeof x === "number" || typeof x === "boolean";
  switch (op) {
    case "equals":
      if (!scalar(val)) fail(`${path}.equals`, `expected a string, number or boolean, got ${typeName(val)}`);
      return { claim, equals: val };
    case "contains":
      if (typeof val !== "string" || val === "") fail(`${path}.contains`, `expected a non-empty string, got ${typeName(val)}`);
      return { claim, contains: val };
    case "in":
      if (!Array.isArray(val) || val.length === 0 || !val.every(scalar)) fail(`${path}.in`, `expected a non-empty list of strings, numbers or booleans, got ${typeName(val)}`);
      return { claim, in: val };
    default:
      if (typeof val !== "boolean") fail(`${path}.exists`, `expected true or false, got ${typeName(val)}`);
      return { claim, exists: val };
  }
}

function parseRule(v: unknown, index: number, fail: (path: string, msg: string) => never): AclRule {
  const path = `rules[${index}]`;
  if (!isObject(v)) fail(path, `expected a mapping with subscribe and/or send, got ${typeName(v)}`);
  unknownField(v, RULE_FIELDS, fail, (k) => `${path}.${k}`);
  if (v.subscribe === undefined && v.send === undefined) fail(path, "a rule needs subscribe or send (a destination pattern or a list of them)");
  const subscribe = parsePatterns(v.subscribe, `${path}.subscribe`, fail);
  const send = parsePatterns(v.send, `${path}.send`, fail);
  const effect = v.effect ?? "allow";
  if (effect !== "allow" && effect !== "deny") fail(`${path}.effect`, `expected allow or deny, got ${typeName(effect)}`);
  if (v.name !== undefined && typeof v.name !== "string") fail(`${path}.name`, `expected a string, got ${typeName(v.name)}`);
  let when: AclCondition[] = [];
  if (v.when !== undefined) {
    if (Array.isArray(v.when)) {
      if (v.when.length === 0) fail(`${path}.when`, "an empty list; leave when out to apply the rule to everyone");
      when = v.when.map((c, i) => parseCondition(c, `${path}.when[${i}]`, fail));
    } else when = [parseCondition(v.when, `${path}.when`, fail)];
  }
  return { index, ...(typeof v.name === "string" ? { name: v.name } : {}), effect, subscribe, send, when };
}

const DEFAULT_RULE_LIST: readonly AclRule[] = [
  {
    index: -1,
    name: "default: subscribe to broker and own user destinations",
    effect: "allow",
    subscribe: ["/topic/**", "/queue/**", "/user/queue/**"].map((p) => new DestinationPattern(p)),
    send: [],
    when: [],
  },
  { index: -1, name: "default: send to application destinations", effect: "allow", subscribe: [], send: [new DestinationPattern("/app/**")], when: [] },
];

/**
 * Used when no rules file is given and tokens are checked (a JWT key is set): anyone may
 * SUBSCRIBE to /topic/**, /queue/** and /user/queue/**, and SEND to /app/**; SEND to
 * /topic/** (or anything else) is refused.
 */
export const DEFAULT_ACL: AclRules = { source: "<defaults>", rules: DEFAULT_RULE_LIST };

/**
 * Used when no rules file is given and no JWT key is set (the open gateway, every connection
 * anonymous unless HERALD_INSECURE_LOGIN_AS_USER): Spring's simple broker, where clients may
 * also SEND straight to broker destinations (/topic/**, /queue/**).
 */
export const OPEN_ACL: AclRules = {
  source: "<open defaults>",
  rules: [
    DEFAULT_RULE_LIST[0]!,
    { index: -1, name: "open default: send to application and broker destinations", effect: "allow", subscribe: [], send: ["/app/**", "/topic/**", "/queue/**"].map((p) => new DestinationPattern(p)), when: [] },
  ],
};

/** Checks an already-parsed document (`{ rules: [...], defaults?: boolean }`). */
export function parseAclRules(doc: unknown, source = "<rules>"): AclRules {
  const fail = (path: string, msg: string): never => {
    throw new AclError(source, path, msg);
  };
  if (!isObject(doc)) fail("", `expected a mapping with a "rules" list at the top, got ${typeName(doc)}`);
  const top = doc as Record<string, unknown>;
  unknownField(top, TOP_FIELDS, fail, (k) => k);
  if (!Array.isArray(top.rules)) fail("rules", `expected a list of rules, got ${typeName(top.rules)}`);
  if (top.defaults !== undefined && typeof top.defaults !== "boolean") fail("defaults", `expected true or false, got ${typeName(top.defaults)}`);
  const rules = (top.rules as unknown[]).map((r, i) => parseRule(r, i, fail));
  // `defaults: true` keeps the built-in rules after the file's own (so the file can deny first).
  return { source, rules: top.defaults === true ? [...rules, ...DEFAULT_RULE_LIST] : rules };
}

/** Parses rules text: JSON when `format` is "json", YAML otherwise (YAML also reads JSON). */
export function parseAclText(text: string, source = "<rules>", format: "json" | "yaml" = "yaml"): AclRules {
  let doc: unknown;
  if (format === "json") {
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new AclError(source, undefined, `invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  } else {
    const parsed = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    const err = parsed.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const where = pos ? ` at line ${pos.line}, column ${pos.col}` : "";
      throw new AclError(source, undefined, `invalid YAML${where}: ${err.message.split("\n")[0]}`);
    }
    doc = parsed.toJS();
  }
  return parseAclRules(doc, source);
}

/** Reads and checks a rules file (.json as JSON, anything else as YAML). */
export function loadAclFile(path: string): AclRules {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new AclError(path, undefined, `cannot read the rules file: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseAclText(text, path, extname(path).toLowerCase() === ".json" ? "json" : "yaml");
}

/** HERALD_ACL_FILE: the rules file, or undefined (use DEFAULT_ACL) when unset. */
export function aclRulesFromEnv(env: Env): AclRules | undefined {
  const file = readString(env, "HERALD_ACL_FILE");
  return file === undefined ? undefined : loadAclFile(file);
}
