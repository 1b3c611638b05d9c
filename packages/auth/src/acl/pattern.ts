import type { Principal } from "../principal.js";
import { readClaim } from "../jwt/claims.js";

/**
 * Destination patterns of the rules file.
 *
 * A destination reads as words separated by "/" or ".": `/topic/stocks.AAPL`
 * has the words topic, stocks, AAPL.
 *
 *   *        exactly one word (never crosses "/" or "."): `/topic/stocks.*`
 *            matches `/topic/stocks.AAPL`, not `/topic/stocks.AAPL.x`.
 *            Inside a word it matches any run within that word: `/topic/price-*`.
 *   **       the rest: one or more words with their separators; only as the last
 *            word, after a separator: `/app/**`, `/topic/team.x.**`.
 *   {user}            the principal's user name
 *   {claims.NAME}     a claim of the token (dotted paths reach nested claims;
 *                     an array claim matches any of its elements)
 *
 * A substituted value is matched literally and must be one word: it may not
 * contain "/" and holds no wildcard, "%", "\" or control character. It may
 * contain "." only when the placeholder is a whole "/" segment
 * (`/topic/private/{user}/**` for user alice@example.com), where no other
 * value could produce the same words. A value that breaks this rule makes the
 * rule not apply; it is never escaped into something else. Without a
 * principal (anonymous) a pattern with a placeholder never matches.
 */
type Token =
  | { kind: "literal"; text: string }
  | { kind: "star"; wholeWord: boolean }
  | { kind: "rest" }
  | { kind: "placeholder"; source: "user" | "claim"; claim: string; wholeSegment: boolean };

export class PatternError extends Error {
  override readonly name = "PatternError";
}

const FORBIDDEN_LITERAL = /[\p{C}\p{Z}%\\?[\]]/u;
const FORBIDDEN_VALUE = /[\p{C}\p{Z}%\\*?[\]{}/]/u;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

const isSep = (c: string | undefined): boolean => c === "/" || c === ".";

export class DestinationPattern {
  /** The pattern up to its first wildcard or placeholder: what it names outright (`/queue/dlq/` of `/queue/dlq/**`). */
  readonly literalPrefix: string;
  private readonly tokens: readonly Token[];
  private readonly staticRegExp: RegExp | undefined;
  private readonly perPrincipal = new WeakMap<Principal, RegExp | null>();

  constructor(readonly source: string) {
    this.tokens = DestinationPattern.parse(source);
    const first = this.tokens[0];
    this.literalPrefix = first?.kind === "literal" ? first.text : "";
    this.staticRegExp = this.tokens.some((t) => t.kind === "placeholder") ? undefined : this.build(undefined) ?? undefined;
  }

  /** True when `destination` (already through normalizeDestination) matches for this principal. */
  matches(destination: string, principal: Principal | undefined): boolean {
    if (this.staticRegExp) return this.staticRegExp.test(destination);
    if (!principal) return false;
    let re = this.perPrincipal.get(principal);
    if (re === undefined) {
      re = this.build(principal);
      this.perPrincipal.set(principal, re);
    }
    return re !== null && re.test(destination);
  }

  private static parse(src: string): Token[] {
    if (typeof src !== "string" || src.length === 0) throw new PatternError("pattern is empty");
    if (!src.startsWith("/")) throw new PatternError('pattern must start with "/"');
    const bad = FORBIDDEN_LITERAL.exec(src);
    if (bad) throw new PatternError(`pattern contains a character not allowed in a destination: U+${(bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")} "${bad[0]}"`);
    for (const seg of src.slice(1).split("/")) {
      if (seg === "") throw new PatternError('pattern has an empty segment ("//" or a trailing "/")');
      if (seg === "." || seg === "..") throw new PatternError(`pattern has a "${seg}" segment`);
    }
    // Several "*" inside one word would make the RegExp backtrack polynomially on
    // a long client-chosen destination; one per word keeps matching linear.
    for (const word of src.split(/[/.]/)) {
      if (!word.includes("**") && word.split("*").length > 2)
        throw new PatternError(`word "${word}" has more than one "*"; use at most one per word`);
    }
    const tokens: Token[] = [];
    let lit = "";
    const flush = (): void => {
      if (lit) tokens.push({ kind: "literal", text: lit });
      lit = "";
    };
    for (let i = 0; i < src.length; ) {
      const c = src[i];
      if (c === "*") {
        if (src[i + 1] === "*") {
          if (src[i + 2] === "*") throw new PatternError(`"***" at position ${i} is not a wildcard; use * (one word) or ** (the rest)`);
          if (!isSep(src[i - 1]) || i + 2 !== src.length)
            throw new PatternError(`"**" at position ${i} must be the whole last word, after "/" or "." (as in /topic/**)`);
          flush();
          tokens.push({ kind: "rest" });
          i += 2;
          continue;
        }
        flush();
        tokens.push({ kind: "star", wholeWord: isSep(src[i - 1]) && (i + 1 === src.length || isSep(src[i + 1])) });
        i += 1;
        continue;
      }
      if (c === "{") {
        const end = src.indexOf("}", i);
        if (end < 0) throw new PatternError(`"{" at position ${i} is not closed by "}"`);
        const name = src.slice(i + 1, end);
        let token: Token;
        const wholeSegment = src[i - 1] === "/" && (end + 1 === src.length || src[end + 1] === "/");
        if (name === "user") token = { kind: "placeholder", source: "user", claim: "", wholeSegment };
        else if (name.startsWith("claims.") && name.length > "claims.".length && !/[{\s]/.test(name))
          token = { kind: "placeholder", source: "claim", claim: name.slice("claims.".length), wholeSegment };
        else throw new PatternError(`unknown placeholder "{${name}}"; use {user} or {claims.NAME}`);
        flush();
        tokens.push(token);
        i = end + 1;
        continue;
      }
      if (c === "}") throw new PatternError(`"}" at position ${i} has no opening "{"`);
      lit += c;
      i += 1;
    }
    flush();
    return tokens;
  }

  private static values(token: Extract<Token, { kind: "placeholder" }>, principal: Principal): string[] {
    const raw = token.source === "user" ? principal.user : readClaim(principal.claims, token.claim);
    const candidates = Array.isArray(raw) ? raw : [raw];
    const out: string[] = [];
    for (const v of candidates) {
      const s = typeof v === "string" ? v : typeof v === "number" && Number.isSafeInteger(v) ? String(v) : undefined;
      if (s === undefined || s === "" || s === "." || s === ".." || FORBIDDEN_VALUE.test(s)) continue;
      if (!token.wholeSegment && s.includes(".")) continue;
      out.push(s);
    }
    return out;
  }

  /** The anchored RegExp for this principal, or null when a placeholder has no usable value. */
  private build(principal: Principal | undefined): RegExp | null {
    let re = "^";
    for (const t of this.tokens) {
      switch (t.kind) {
        case "literal":
          re += escapeRegExp(t.text);
          break;
        case "star":
          re += t.wholeWord ? "[^/.]+" : "[^/.]*";
          break;
        case "rest":
          re += ".+";
          break;
        case "placeholder": {
          if (!principal) return null;
          const vs = DestinationPattern.values(t, principal);
          if (vs.length === 0) return null;
          re += `(?:${vs.map(escapeRegExp).join("|")})`;
          break;
        }
      }
    }
    return new RegExp(`${re}$`, "u");
  }
}
