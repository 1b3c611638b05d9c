/** One Dockerfile instruction, continuation lines joined. */
export interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** A build stage: `FROM image AS name` and its instructions. */
export interface Stage {
  readonly name: string;
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

/** Every instruction of a Dockerfile, in order (comments and blank lines dropped). */
export function parseDockerfile(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(" ") };
    });
}

/** The stages of a multi-stage Dockerfile, by their `AS` name. */
export function dockerStages(text: string): Stage[] {
  const stages: Array<{ name: string; from: string; instructions: Instruction[] }> = [];
  for (const i of parseDockerfile(text)) {
    if (i.op === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args);
      if (!m) throw new Error(`Dockerfile: cannot read FROM ${i.args}`);
      stages.push({ from: m[1]!, name: m[2] ?? String(stages.length), instructions: [] });
    } else if (stages.length > 0) stages[stages.length - 1]!.instructions.push(i);
  }
  return stages;
}

/** The stage named `name`; a missing one is an error naming the stages there are. */
export function dockerStage(stages: readonly Stage[], name: string): Stage {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`Dockerfile has no stage "${name}" (stages: ${stages.map((x) => x.name).join(", ")})`);
  return s;
}
