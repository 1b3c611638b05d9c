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

/**
 * Dead letters: a message NACKed too often moves to `/queue/dlq` + its bus destination
 * (`/queue/dlq/user/alice/queue/orders`, `/queue/dlq/topic/x`). Only the server writes there.
 * A user reads their own as `/user/queue/dlq` + the destination they subscribed to without
 * `/user` (`/user/queue/dlq/queue/orders` for `/user/queue/orders`); anyone else needs a rule
 * that names `/queue/dlq/` (the edge reserves the prefix in its authorizer).
 */
export const DEAD_LETTER_PREFIX = "/queue/dlq/";
const OWN_DEAD_LETTER_PREFIX = "/user/queue/dlq/";

/** The dead-letter destination of a bus destination. */
export function deadLetterDestination(busDestination: string): string {
  return `/queue/dlq${busDestination}`;
}

/** Destinations only the server writes to (a client SEND there is refused). */
export function isDeadLetterDestination(destination: string): boolean {
  return destination.startsWith(DEAD_LETTER_PREFIX) || destination.startsWith(OWN_DEAD_LETTER_PREFIX);
}

/**
 * `/user/queue/x` of `user` → bus destination `/user/{user}/queue/x`; `/user/queue/dlq/queue/x`
 * → the user's dead letters of it, `/queue/dlq/user/{user}/queue/x`. Undefined for a
 * `/user/queue/dlq/…` that names no user queue.
 */
export function ownUserBusDestination(user: string, destination: string): string | undefined {
  if (!destination.startsWith(OWN_DEAD_LETTER_PREFIX)) return userBusDestination(user, destination.slice("/user".length));
  const of = destination.slice(OWN_DEAD_LETTER_PREFIX.length - 1);
  return of.startsWith("/queue/") ? deadLetterDestination(userBusDestination(user, of)) : undefined;
}

export function clip(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
