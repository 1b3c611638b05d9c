import { USER_PREFIX, userBusDestination } from "@herald/bus";

/**
 * Destination syntax every SUBSCRIBE and SEND goes through first. A destination is
 * "/" followed by non-empty segments of printable characters; "." and ".." segments,
 * "%", "\" and control characters are refused, so no spelling can reach another
 * user's queue or escape a prefix.
 */
export function checkDestinationSyntax(destination: string): string | undefined {
  if (!destination.startsWith("/")) return `destination "${clip(destination)}" must start with "/"`;
  if (destination.length > 1024) return "destination is longer than 1024 characters";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f%\\]/.test(destination)) return `destination "${clip(destination)}" contains a control character, "%" or "\\"`;
  const segments = destination.slice(1).split("/");
  for (const s of segments) {
    if (s === "") return `destination "${clip(destination)}" has an empty segment`;
    if (s === "." || s === "..") return `destination "${clip(destination)}" has a "${s}" segment`;
  }
  return undefined;
}

export type DestinationKind = "app" | "topic" | "queue" | "user-own" | "user-other";

export function classify(destination: string): DestinationKind | undefined {
  if (destination.startsWith("/app/")) return "app";
  if (destination.startsWith("/topic/")) return "topic";
  if (destination.startsWith("/queue/")) return "queue";
  if (destination.startsWith("/user/queue/") || destination.startsWith("/user/topic/")) return "user-own";
  if (destination.startsWith(USER_PREFIX)) return "user-other";
  return undefined;
}

/** `/user/queue/x` of `user` → bus destination `/user/{user}/queue/x`. */
export function ownUserBusDestination(user: string, destination: string): string {
  return userBusDestination(user, destination.slice("/user".length));
}

export function clip(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
