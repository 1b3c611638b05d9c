import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Languages whose blocks are code a reader pastes: each is run, or marked as not run. */
const CODE = new Map([
  ["js", "js"],
  ["javascript", "js"],
  ["mjs", "js"],
  ["ts", "ts"],
  ["typescript", "ts"],
  ["sh", "sh"],
  ["bash", "sh"],
  ["shell", "sh"],
  ["console", "sh"],
]);

export type BlockMark = { kind: "run"; name: string } | { kind: "not run"; reason: string };

export interface DocBlock {
  /** Path from the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: "js" | "ts" | "sh";
  /** The block's text exactly as in the file (ends with a newline). */
  text: string;
  /** `<!-- run: name -->` or `<!-- not run: reason -->` on the line before the fence. */
  mark: BlockMark | undefined;
  /** What a reader sees just before the block: from the previous block (or heading) to it. */
  prose: string;
}

/** The documents whose examples must run: README.md, services/*\/README.md, packages/*\/README.md, docs/*.md. */
export function docFiles(root: string): string[] {
  const out = ["README.md"];
  for (const top of ["services", "packages"]) {
    for (const name of readdirSync(join(root, top)).sort()) if (existsSync(join(root, top, name, "README.md"))) out.push(`${top}/${name}/README.md`);
  }
  if (existsSync(join(root, "docs"))) for (const name of readdirSync(join(root, "docs")).sort()) if (name.endsWith(".md")) out.push(`docs/${name}`);
  return out;
}

/** Every js/ts/sh fenced block of a document, with its mark. */
export function docBlocks(root: string, file: string): DocBlock[] {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  const blocks: DocBlock[] = [];
  let proseStart = 0;
  for (let i = 0; i < lines.length; i++) {
    if (/^#{1,6} /.test(lines[i]!)) proseStart = i;
    const open = /^(\s*)```\s*([\w-]*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    let end = i + 1;
    while (end < lines.length && lines[end]!.trim() !== "```") end++;
    const lang = CODE.get(open[2]!.toLowerCase());
    if (lang) {
      let prev = i - 1;
      while (prev >= 0 && lines[prev]!.trim() === "") prev--;
      const m = prev >= 0 ? /^\s*<!--\s*(run|not run):\s*(.*?)\s*-->\s*$/.exec(lines[prev]!) : null;
      const mark: BlockMark | undefined = !m ? undefined : m[1] === "run" ? { kind: "run", name: m[2]! } : { kind: "not run", reason: m[2]! };
      const body = lines.slice(i + 1, end).map((l) => (fence && l.startsWith(fence) ? l.slice(fence.length) : l));
      blocks.push({ file, line: i + 1, lang: lang as DocBlock["lang"], text: `${body.join("\n")}\n`, mark, prose: lines.slice(proseStart, i).join("\n") });
    }
    i = end;
    proseStart = end + 1;
  }
  return blocks;
}

export function allDocBlocks(root: string): DocBlock[] {
  return docFiles(root).flatMap((f) => docBlocks(root, f));
}
