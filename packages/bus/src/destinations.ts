/**
 * Destination naming shared by every role. Clients subscribe to `/user/queue/x`;
 * on the bus a message for user U travels on `/user/{U}/queue/x`, with U
 * URI-encoded so that no user name can forge another user's path segment.
 */
export const USER_PREFIX = "/user/";

/** Bus destination for `destination` (e.g. "/queue/notifications") of user `user`. */
export function userBusDestination(user: string, destination: string): string {
  return `${USER_PREFIX}${encodeURIComponent(user)}${destination}`;
}

/** The client-side form `/user/queue/x` for a bus destination `/user/{U}/queue/x`. */
export function clientUserDestination(busDestination: string): string {
  const rest = busDestination.slice(USER_PREFIX.length);
  const slash = rest.indexOf("/");
  return slash < 0 ? busDestination : `/user${rest.slice(slash)}`;
}
