import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "@herald/config";
import { AclError, aclRulesFromEnv, createAuthorizer, DEFAULT_ACL, DestinationPattern, loadAclFile, OPEN_ACL, parseAclText, type Principal } from "../src/index.js";
import { tempDir } from "./helpers.js";

const principal = (user: string, claims: Record<string, unknown> = {}): Principal => ({ user, claims: { sub: user, ...claims } });
const yes = { allowed: true };

describe("defaults (no rules file)", () => {
  const auth = createAuthorizer();
  for (const who of [undefined, principal("alice")]) {
    const label = who ? "authenticated" : "anonymous";
    test(`${label}: subscribe to /topic, /queue and own /user/queue; send to /app`, () => {
      assert.deepEqual(auth.canSubscribe(who, "/topic/news"), yes);
      assert.deepEqual(auth.canSubscribe(who, "/topic/stocks.AAPL/eu"), yes);
      assert.deepEqual(auth.canSubscribe(who, "/queue/jobs"), yes);
      assert.deepEqual(auth.canSubscribe(who, "/user/queue/notifications"), yes);
      assert.deepEqual(auth.canSend(who, "/app/sendMessage"), yes);
    });
    test(`${label}: send to /topic and anything unknown is refused`, () => {
      const r = auth.canSend(who, "/topic/news");
      assert.deepEqual(r, { allowed: false, reason: "SEND to /topic/news refused: no rule allows it" });
      assert.equal(auth.canSend(who, "/queue/jobs").allowed, false);
      assert.equal(auth.canSend(who, "/user/queue/x").allowed, false);
      assert.equal(auth.canSubscribe(who, "/app/x").allowed, false);
      assert.equal(auth.canSubscribe(who, "/secret/x").allowed, false);
      assert.equal(auth.canSubscribe(who, "/topic").allowed, false);
    });
  }
});

describe("patterns", () => {
  const rules = parseAclText(
    `
rules:
  - subscribe: "/topic/stocks.*"
  - subscribe: ["/topic/price-*", "/topic/a/*/c"]
  - send: "/topic/chat/**"
`,
    "patterns.yaml",
  );
  const auth = createAuthorizer(rules);
  const sub = (d: string): boolean => auth.canSubscribe(undefined, d).allowed;

  test("* is exactly one word: never crosses '.' or '/'", () => {
    assert.ok(sub("/topic/stocks.AAPL"));
    assert.ok(!sub("/topic/stocks.AAPL.x"));
    assert.ok(!sub("/topic/stocks.AAPL/x"));
    assert.ok(!sub("/topic/stocks"));
    assert.ok(sub("/topic/a/b/c"));
    assert.ok(!sub("/topic/a/b.x/c"));
    assert.ok(!sub("/topic/a/b/d/c"));
  });

  test("* inside a word matches within that word", () => {
    assert.ok(sub("/topic/price-eur"));
    assert.ok(!sub("/topic/price-eur.x"));
    assert.ok(!sub("/topic/pricex"));
  });

  test("** is any rest, at least one word", () => {
    assert.ok(auth.canSend(undefined, "/topic/chat/room1").allowed);
    assert.ok(auth.canSend(undefined, "/topic/chat/room1.eu/x").allowed);
    assert.ok(!auth.canSend(undefined, "/topic/chat").allowed);
    assert.ok(!auth.canSend(undefined, "/topic/chatter/x").allowed);
  });

  test("a long adversarial destination is decided quickly", () => {
    const worst = createAuthorizer(parseAclText('rules: [{ subscribe: ["/topic/*-x.*/*/x", "/topic/a*.{claims.t}.**"] }]', "w.yaml"));
    const who = principal("p", { t: ["a", "aa", "aaa"] });
    const started = performance.now();
    for (const body of ["-".repeat(1000), "a".repeat(1000), `${"-a".repeat(300)}.${"a".repeat(300)}`]) {
      worst.canSubscribe(who, `/topic/${body}/y`);
    }
    assert.ok(performance.now() - started < 200, "pattern matching must stay linear");
  });

  test("literal dots in patterns are not regex wildcards", () => {
    assert.ok(!sub("/topic/stocksXAAPL"));
  });
});

describe("claims-based rules", () => {
  const rules = parseAclText(
    `
rules:
  - subscribe: "/topic/admin.**"
    effect: deny
    name: nobody reads admin topics
  - subscribe: "/topic/stocks.*"
    when: { claim: scope, contains: stocks }
  - subscribe: "/topic/team.{claims.team}.**"
  - subscribe: "/topic/private/{user}/**"
  - send: "/topic/ops.**"
    when:
      - { claim: realm_access.roles, contains: operator }
      - { claim: email_verified, equals: true }
  - send: "/topic/tier.*"
    when: { claim: tier, in: [gold, platinum] }
  - send: "/topic/guests"
    when: { authenticated: false }
  - send: "/topic/beta"
    when: { claim: beta, exists: true }
  - subscribe: "/topic/**"
`,
    "claims.yaml",
  );
  const auth = createAuthorizer(rules);

  test("contains: in a space-separated scope string and in an array", () => {
    assert.ok(auth.canSubscribe(principal("a", { scope: "read stocks" }), "/topic/stocks.AAPL").allowed);
    assert.ok(auth.canSubscribe(principal("a", { scope: ["stocks"] }), "/topic/stocks.AAPL").allowed);
    // Alone (without the catch-all /topic/** of this file), the condition decides.
    const noScope = createAuthorizer(parseAclText('rules: [{ subscribe: "/topic/stocks.*", when: { claim: scope, contains: stocks } }]', "x.yaml"));
    assert.equal(noScope.canSubscribe(principal("a", { scope: "read stockss" }), "/topic/stocks.AAPL").allowed, false);
    assert.equal(noScope.canSubscribe(principal("a", { scope: "read" }), "/topic/stocks.AAPL").allowed, false);
    assert.equal(noScope.canSubscribe(undefined, "/topic/stocks.AAPL").allowed, false);
  });

  test("{claims.team} gives each team its own namespace", () => {
    const only = createAuthorizer(parseAclText('rules: [{ subscribe: "/topic/team.{claims.team}.**" }]', "t.yaml"));
    const red = principal("r", { team: "red" });
    assert.ok(only.canSubscribe(red, "/topic/team.red.chat").allowed);
    assert.ok(only.canSubscribe(red, "/topic/team.red.chat/x").allowed);
    assert.equal(only.canSubscribe(red, "/topic/team.blue.chat").allowed, false);
    assert.equal(only.canSubscribe(red, "/topic/team.redder.chat").allowed, false);
    assert.equal(only.canSubscribe(undefined, "/topic/team.red.chat").allowed, false);
    const multi = principal("m", { team: ["red", "green"] });
    assert.ok(only.canSubscribe(multi, "/topic/team.green.x").allowed);
    assert.ok(only.canSubscribe(multi, "/topic/team.red.x").allowed);
    assert.equal(only.canSubscribe(multi, "/topic/team.blue.x").allowed, false);
  });

  test("a claim value cannot inject wildcards, separators or other teams", () => {
    const only = createAuthorizer(parseAclText('rules: [{ subscribe: "/topic/team.{claims.team}.**" }]', "t.yaml"));
    const attempts: [unknown, string][] = [
      ["*", "/topic/team.blue.x"],
      ["**", "/topic/team.blue.x"],
      [".*", "/topic/team.blue.x"],
      ["red.blue", "/topic/team.red.blue.x"],
      ["red/x", "/topic/team.red/x.y"],
      ["blue|red", "/topic/team.blue.x"],
      ["(.*)", "/topic/team.blue.x"],
      ["..", "/topic/team.x"],
      ["%2e", "/topic/team.blue.x"],
      ["", "/topic/team..x"],
      [{ a: 1 }, "/topic/team.blue.x"],
      [null, "/topic/team.blue.x"],
    ];
    for (const [team, dest] of attempts) {
      assert.equal(only.canSubscribe(principal("p", { team }), dest).allowed, false, `team ${JSON.stringify(team)} reached ${dest}`);
    }
    // The literal value still works where it is itself a single word.
    assert.ok(only.canSubscribe(principal("p", { team: "r-1_x" }), "/topic/team.r-1_x.y").allowed);
  });

  test("{user} as a whole segment may hold dots (e-mail user names) without reaching others", () => {
    const only = createAuthorizer(parseAclText('rules: [{ subscribe: "/topic/private/{user}/**" }]', "u.yaml"));
    assert.ok(only.canSubscribe(principal("alice@example.com"), "/topic/private/alice@example.com/inbox").allowed);
    assert.equal(only.canSubscribe(principal("alice"), "/topic/private/alice@example.com/inbox").allowed, false);
    assert.equal(only.canSubscribe(principal("alice@example.com"), "/topic/private/alice/inbox").allowed, false);
    const dotted = createAuthorizer(parseAclText('rules: [{ subscribe: "/topic/private.{user}.**" }]', "u.yaml"));
    assert.equal(dotted.canSubscribe(principal("a.b"), "/topic/private.a.b.x").allowed, false);
  });

  test("deny rules win when they come first, and the reason names the rule", () => {
    const r = auth.canSubscribe(principal("a"), "/topic/admin.keys");
    assert.deepEqual(r, { allowed: false, reason: "SUBSCRIBE to /topic/admin.keys refused by rule 0 (nobody reads admin topics)" });
    assert.ok(auth.canSubscribe(principal("a"), "/topic/other").allowed);
  });

  test("all conditions of a list must hold; nested claims; equals/in/exists/authenticated", () => {
    const op = principal("o", { realm_access: { roles: ["operator"] }, email_verified: true });
    assert.ok(auth.canSend(op, "/topic/ops.restart").allowed);
    assert.equal(auth.canSend(principal("o", { realm_access: { roles: ["operator"] }, email_verified: "true" }), "/topic/ops.restart").allowed, false);
    assert.equal(auth.canSend(principal("o", { email_verified: true }), "/topic/ops.restart").allowed, false);
    assert.ok(auth.canSend(principal("g", { tier: "gold" }), "/topic/tier.x").allowed);
    assert.equal(auth.canSend(principal("g", { tier: "silver" }), "/topic/tier.x").allowed, false);
    assert.ok(auth.canSend(undefined, "/topic/guests").allowed);
    assert.equal(auth.canSend(principal("a"), "/topic/guests").allowed, false);
    assert.ok(auth.canSend(principal("b", { beta: false }), "/topic/beta").allowed);
    assert.equal(auth.canSend(principal("b"), "/topic/beta").allowed, false);
  });

  test("a rules file replaces the defaults unless it says defaults: true", () => {
    const replaced = createAuthorizer(parseAclText('rules: [{ send: "/topic/chat.**" }]', "r.yaml"));
    assert.equal(replaced.canSend(undefined, "/app/x").allowed, false);
    const kept = createAuthorizer(parseAclText('defaults: true\nrules: [{ send: "/topic/chat.**" }, { subscribe: "/queue/**", effect: deny }]', "r.yaml"));
    assert.ok(kept.canSend(undefined, "/app/x").allowed);
    assert.ok(kept.canSend(undefined, "/topic/chat.1").allowed);
    assert.equal(kept.canSubscribe(undefined, "/queue/x").allowed, false);
    assert.ok(kept.canSubscribe(undefined, "/topic/x").allowed);
    assert.equal(DEFAULT_ACL.rules.length, 2);
  });
});

describe("reserved prefixes (dead letters)", () => {
  const reserved = [{ prefix: "/queue/dlq/", description: "dead letters" }];
  const dead = "/queue/dlq/user/alice/queue/orders";

  test("a pattern's literal prefix is what it names before any wildcard or placeholder", () => {
    assert.equal(new DestinationPattern("/queue/dlq/**").literalPrefix, "/queue/dlq/");
    assert.equal(new DestinationPattern("/queue/**").literalPrefix, "/queue/");
    assert.equal(new DestinationPattern("/queue/dlq/user/{user}/**").literalPrefix, "/queue/dlq/user/");
    assert.equal(new DestinationPattern("/queue/dl*/**").literalPrefix, "/queue/dl");
  });

  test("wildcards over the prefix do not open it; a rule that names it does; deny rules still deny", () => {
    for (const rules of [DEFAULT_ACL, OPEN_ACL, parseAclText(`rules:\n  - subscribe: ["/queue/**", "/**"]\n`)]) {
      const d = createAuthorizer(rules, { reserved }).canSubscribe(principal("bob"), dead);
      assert.equal(d.allowed, false, rules.source);
      assert.match(d.allowed ? "" : d.reason, /dead letters; only a rule whose pattern starts with \/queue\/dlq\/ opens them/);
    }
    const ops = parseAclText(`rules:\n  - subscribe: "/queue/dlq/**"\n    when: { claim: roles, contains: operator }\n  - subscribe: "/queue/**"\n`);
    const auth = createAuthorizer(ops, { reserved });
    assert.deepEqual(auth.canSubscribe(principal("olivia", { roles: ["operator"] }), dead), yes);
    assert.equal(auth.canSubscribe(principal("bob"), dead).allowed, false);
    assert.deepEqual(auth.canSubscribe(principal("bob"), "/queue/jobs"), yes);
    const denied = createAuthorizer(parseAclText(`rules:\n  - subscribe: "/queue/**"\n    effect: deny\n  - subscribe: "/queue/dlq/**"\n`), { reserved });
    assert.equal(denied.canSubscribe(principal("bob"), dead).allowed, false);
  });

  test("the open defaults let clients SEND to broker destinations; the JWT defaults do not", () => {
    assert.deepEqual(createAuthorizer(OPEN_ACL).canSend(undefined, "/topic/messages"), yes);
    assert.deepEqual(createAuthorizer(OPEN_ACL).canSend(undefined, "/queue/work"), yes);
    assert.equal(createAuthorizer(DEFAULT_ACL).canSend(undefined, "/topic/messages").allowed, false);
  });
});

describe("rules file validation", () => {
  const fails = (text: string, message: RegExp, where?: { ruleIndex?: number; field?: string }, format: "json" | "yaml" = "yaml"): void => {
    assert.throws(
      () => parseAclText(text, "acl.yaml", format),
      (e: unknown) => {
        assert.ok(e instanceof AclError && e instanceof ConfigError, String(e));
        assert.match(e.message, message);
        assert.equal(e.file, "acl.yaml");
        if (where) {
          assert.equal(e.ruleIndex, where.ruleIndex);
          assert.equal(e.field, where.field);
        }
        return true;
      },
    );
  };

  test("bad YAML names the line", () => {
    fails("rules:\n  - subscribe: [\n", /^acl\.yaml: invalid YAML at line \d+, column \d+/);
    fails("rules:\n  - subscribe: /a/x\n    subscribe: /b/x\n", /invalid YAML.*[Dd]uplicate|invalid YAML.*unique/);
  });

  test("bad JSON", () => {
    fails('{"rules": [', /^acl\.yaml: invalid JSON/, undefined, "json");
  });

  test("unknown fields name the rule index and the field", () => {
    fails('rules:\n  - send: "/app/**"\n  - subcribe: "/topic/**"\n', /^acl\.yaml: rules\[1\]\.subcribe: unknown field; expected one of name, subscribe, send, when, effect$/, {
      ruleIndex: 1,
      field: "subcribe",
    });
    fails("rule: []\n", /^acl\.yaml: rule: unknown field/, { ruleIndex: undefined, field: "rule" });
    fails('rules:\n  - subscribe: "/topic/x"\n    when: { claim: scope, contain: stocks }\n', /rules\[0\]\.when\.contain: unknown field/, {
      ruleIndex: 0,
      field: "when.contain",
    });
  });

  test("bad patterns are refused with the reason", () => {
    fails('rules:\n  - subscribe: "/topic/**/x"\n', /rules\[0\]\.subscribe: bad pattern "\/topic\/\*\*\/x": "\*\*" at position 7 must be the whole last word/, {
      ruleIndex: 0,
      field: "subscribe",
    });
    fails('rules:\n  - send: ["/app/**", "topic/x"]\n', /rules\[0\]\.send\[1\]: bad pattern "topic\/x": pattern must start with "\/"/, { ruleIndex: 0, field: "send[1]" });
    fails('rules:\n  - subscribe: "/topic/{claims.team"\n', /is not closed/);
    fails('rules:\n  - subscribe: "/topic/{team}"\n', /unknown placeholder "\{team\}"/);
    fails('rules:\n  - subscribe: "/topic//x"\n', /empty segment/);
    fails('rules:\n  - subscribe: "/topic/../x"\n', /"\.\." segment/);
    fails('rules:\n  - subscribe: "/topic/%2e"\n', /not allowed/);
    fails('rules:\n  - subscribe: "/topic/***"\n', /"\*\*\*"/);
    fails('rules:\n  - subscribe: "/topic/a**"\n', /"\*\*" at position 8/);
    fails('rules:\n  - subscribe: "/topic/a-*-*"\n', /word "a-\*-\*" has more than one "\*"/);
  });

  test("other shape errors", () => {
    fails("rules: 3\n", /^acl\.yaml: rules: expected a list of rules, got number 3$/);
    fails("- a\n", /expected a mapping with a "rules" list/);
    fails("rules:\n  - name: x\n", /rules\[0\]: a rule needs subscribe or send/, { ruleIndex: 0, field: undefined });
    fails('rules:\n  - send: "/app/**"\n    effect: maybe\n', /rules\[0\]\.effect: expected allow or deny, got string "maybe"/);
    fails('rules:\n  - send: "/app/**"\n    when: { claim: a, equals: 1, contains: b }\n', /rules\[0\]\.when: expected exactly one of equals, contains, in, exists, got equals and contains/);
    fails('rules:\n  - send: "/app/**"\n    when: [{ claim: "", exists: true }]\n', /rules\[0\]\.when\[0\]\.claim: expected a non-empty claim name/);
    fails('rules:\n  - send: "/app/**"\n    when: { claim: a, in: [] }\n', /rules\[0\]\.when\.in: expected a non-empty list/);
    fails("rules:\n  - send: []\n", /rules\[0\]\.send: expected a destination pattern or a non-empty list/);
    fails("defaults: yes please\nrules: []\n", /^acl\.yaml: defaults: expected true or false/);
  });

  test("files: YAML and JSON load from disk via HERALD_ACL_FILE; missing file is named", () => {
    const tmp = tempDir();
    try {
      const y = tmp.file("acl.yml", 'rules:\n  - send: "/topic/chat.**"\n');
      const j = tmp.file("acl.json", JSON.stringify({ rules: [{ subscribe: "/topic/only" }] }));
      const fromEnv = aclRulesFromEnv({ HERALD_ACL_FILE: y });
      assert.ok(fromEnv);
      assert.ok(createAuthorizer(fromEnv).canSend(undefined, "/topic/chat.x").allowed);
      const json = loadAclFile(j);
      assert.ok(createAuthorizer(json).canSubscribe(undefined, "/topic/only").allowed);
      assert.equal(createAuthorizer(json).canSubscribe(undefined, "/topic/news").allowed, false);
      assert.equal(aclRulesFromEnv({}), undefined);
      const bad = tmp.file("bad.json", '{"rules": [{"subscribe": "/topic/x", "sned": "/app/x"}]}');
      assert.throws(() => loadAclFile(bad), (e: unknown) => e instanceof AclError && e.message === `${bad}: rules[0].sned: unknown field; expected one of name, subscribe, send, when, effect`);
      assert.throws(() => loadAclFile(`${tmp.dir}/none.yaml`), /none\.yaml: cannot read the rules file: ENOENT/);
    } finally {
      tmp.dispose();
    }
  });
});
