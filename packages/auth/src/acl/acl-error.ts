import { ConfigError } from "@herald/config";

/**
 * A rules file that cannot be used. The message names the file, then the rule
 * and field: "acl.yaml: rules[2].when.claim: expected a non-empty string".
 * It is a ConfigError (variable = the file), so the CLI reports it like any
 * other bad setting.
 */
export class AclError extends ConfigError {
  constructor(
    readonly file: string,
    /** Where in the file: "rules[2].subscribe", or undefined for the whole file. */
    readonly path: string | undefined,
    readonly problem: string,
  ) {
    super(file, path ? `${path}: ${problem}` : problem);
  }

  /** The rule's position in the rules list, when the problem is in one rule. */
  get ruleIndex(): number | undefined {
    const m = /^rules\[(\d+)\]/.exec(this.path ?? "");
    return m ? Number(m[1]) : undefined;
  }

  /** The offending field inside the rule ("subscribe", "when.claim"), when there is one. */
  get field(): string | undefined {
    const m = /^rules\[\d+\]\.(.+)$/.exec(this.path ?? "");
    return m ? m[1] : this.path && !this.path.startsWith("rules[") ? this.path : undefined;
  }
}
