import { HistoryError } from "./history.js";

/**
 * The destination patterns of the history policy; the syntax of the ACL patterns of
 * @herald/auth, without placeholders. A destination reads as words separated by "/" or ".":
 *
 *   *    exactly one word, or any run inside a word (`/topic/price-*`); never crosses "/" or "."
 *   **   the rest: one or more words; only as the whole last word (`/topic/prices.**`)
 */
export function compilePattern(pattern: string): RegExp {
  if (typeof pattern !== "string" || !pattern.startsWith("/")) throw new HistoryError(`history pattern ${JSON.stringify(pattern)} must start with "/"`);
  if (/[\s\p{C}]/u.test(pattern)) throw new HistoryError(`history pattern "${pattern}" contains a space or control character`);
  for (const word of pattern.slice(1).split(/[/.]/)) {
    if (word === "") throw new HistoryError(`history pattern "${pattern}" has an empty word ("//", "..", or a trailing separator)`);
    if (word === "**") continue;
    if (word.includes("**")) throw new HistoryError(`history pattern "${pattern}": "**" must be a whole word (as in /topic/**)`);
    if (word.split("*").length > 2) throw new HistoryError(`history pattern "${pattern}": word "${word}" has more than one "*"`);
  }
  const rest = pattern.indexOf("**");
  if (rest >= 0 && rest !== pattern.length - 2) throw new HistoryError(`history pattern "${pattern}": "**" may only be the last word`);
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" && pattern[i + 1] === "*") {
      re += ".+";
      i++;
    } else if (c === "*") {
      const whole = /[/.]/.test(pattern[i - 1] ?? "") && (i + 1 === pattern.length || /[/.]/.test(pattern[i + 1]!));
      re += whole ? "[^/.]+" : "[^/.]*";
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
  }
  return new RegExp(`${re}$`, "u");
}
