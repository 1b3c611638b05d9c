/** What went wrong, as a stable machine-readable code (metrics, ERROR frames, tests). */
export type StompCodecErrorCode =
  | "frame-too-large"
  | "too-many-headers"
  | "header-line-too-long"
  | "invalid-command"
  | "invalid-header"
  | "invalid-escape"
  | "invalid-content-length"
  | "missing-nul"
  | "invalid-encoding";

/** A malformed frame (parsing) or an unrepresentable one (serializing). The message names the problem. */
export class StompCodecError extends Error {
  readonly code: StompCodecErrorCode;

  constructor(code: StompCodecErrorCode, message: string) {
    super(message);
    this.name = "StompCodecError";
    this.code = code;
  }
}

/** Quotes at most `max` characters of what was seen, for error messages (JSON escapes control bytes). */
export function quote(text: string, max = 40): string {
  return text.length > max ? `${JSON.stringify(text.slice(0, max))}…` : JSON.stringify(text);
}
