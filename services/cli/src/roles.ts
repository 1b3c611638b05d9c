import { ConfigError, readList, type Env } from "@herald/config";

export type Role = "edge" | "api" | "worker";
export const ALL_ROLES: readonly Role[] = ["edge", "api", "worker"];

/** HERALD_ROLES: comma list of edge, api, worker; default all three in one process. */
export function rolesFromEnv(env: Env): ReadonlySet<Role> {
  const list = readList(env, "HERALD_ROLES", ALL_ROLES);
  for (const r of list) {
    if (!(ALL_ROLES as readonly string[]).includes(r)) throw new ConfigError("HERALD_ROLES", `unknown role "${r}"; use a comma list of ${ALL_ROLES.join(", ")}`);
  }
  if (list.length === 0) throw new ConfigError("HERALD_ROLES", "names no role");
  return new Set(list as Role[]);
}
