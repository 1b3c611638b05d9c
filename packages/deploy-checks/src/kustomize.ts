import { existsSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { isRecord, readYamlDocuments, REPO_ROOT } from "./repo.js";

/**
 * The part of kustomize Herald's manifests use: `resources` (files and other
 * kustomizations), strategic-merge `patches` (including `$patch: delete`),
 * `namespace` and `images`. Anything else in a kustomization.yaml is refused with
 * a clear error, so a new feature cannot be silently ignored by these checks.
 * (When kubectl is installed the tests also compare this with `kubectl kustomize`.)
 */

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

const SUPPORTED_FIELDS = new Set(["apiVersion", "kind", "resources", "patches", "namespace", "images"]);
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass", "APIService"]);

function asObject(v: unknown, where: string): K8sObject {
  if (!isRecord(v) || typeof v["apiVersion"] !== "string" || typeof v["kind"] !== "string" || !isRecord(v["metadata"]) || typeof v["metadata"]["name"] !== "string") {
    throw new Error(`${where}: every document needs apiVersion, kind and metadata.name`);
  }
  return v as K8sObject;
}

const group = (apiVersion: string): string => (apiVersion.includes("/") ? apiVersion.split("/")[0]! : "");
const sameTarget = (a: K8sObject, b: K8sObject): boolean => a.kind === b.kind && a.metadata.name === b.metadata.name && group(a.apiVersion) === group(b.apiVersion);

/** Strategic merge as kustomize applies it to these manifests: maps merge, lists of named items merge by name, other lists are replaced. */
export function strategicMerge(base: unknown, patch: unknown, where: string): unknown {
  if (isRecord(patch)) {
    for (const k of Object.keys(patch)) if (k.startsWith("$")) throw new Error(`${where}: directive ${k} is not supported by the test renderer`);
    if (!isRecord(base)) return structuredClone(patch);
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = v === null ? undefined : strategicMerge(base[k], v, `${where}.${k}`);
    for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
    return out;
  }
  if (Array.isArray(patch) && Array.isArray(base)) {
    const named = (l: unknown[]) => l.length > 0 && l.every((i) => isRecord(i) && typeof i["name"] === "string");
    if (named(patch) && named(base)) {
      const out = base.map((i) => structuredClone(i) as Record<string, unknown>);
      for (const p of patch as Record<string, unknown>[]) {
        const at = out.findIndex((i) => i["name"] === p["name"]);
        if (at >= 0) out[at] = strategicMerge(out[at], p, `${where}[${String(p["name"])}]`) as Record<string, unknown>;
        else out.push(structuredClone(p));
      }
      return out;
    }
  }
  return structuredClone(patch);
}

function setImages(obj: K8sObject, images: readonly Record<string, unknown>[]): void {
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!isRecord(v)) return;
    for (const key of ["containers", "initContainers"]) {
      const list = v[key];
      if (!Array.isArray(list)) continue;
      for (const c of list) {
        if (!isRecord(c) || typeof c["image"] !== "string") continue;
        const name = c["image"].replace(/[:@].*$/, "");
        const rule = images.find((i) => i["name"] === name);
        if (!rule) continue;
        const newName = typeof rule["newName"] === "string" ? rule["newName"] : name;
        const tag = typeof rule["digest"] === "string" ? `@${rule["digest"]}` : typeof rule["newTag"] === "string" ? `:${rule["newTag"]}` : "";
        c["image"] = newName + tag;
      }
    }
    for (const child of Object.values(v)) visit(child);
  };
  visit(obj);
}

/** Renders the kustomization in `dir` (absolute, or relative to the repository root). */
export function renderKustomization(dir: string): K8sObject[] {
  const abs = dir.startsWith("/") ? dir : join(REPO_ROOT, dir);
  const file = join(abs, "kustomization.yaml");
  const where = relative(REPO_ROOT, file);
  if (!existsSync(file)) throw new Error(`${relative(REPO_ROOT, abs)} has no kustomization.yaml`);
  const [k] = readYamlDocuments(file);
  if (!isRecord(k)) throw new Error(`${where} is empty`);
  for (const field of Object.keys(k)) if (!SUPPORTED_FIELDS.has(field)) throw new Error(`${where}: "${field}" is not supported by the test renderer (packages/deploy-checks/src/kustomize.ts); extend it or keep the overlay simple`);

  let objects: K8sObject[] = [];
  for (const r of (k["resources"] ?? []) as unknown[]) {
    if (typeof r !== "string") throw new Error(`${where}: resources must be paths`);
    const p = join(abs, r);
    if (!existsSync(p)) throw new Error(`${where}: resource ${r} does not exist`);
    if (statSync(p).isDirectory()) objects.push(...renderKustomization(p));
    else objects.push(...readYamlDocuments(p).map((d, i) => asObject(d, `${relative(REPO_ROOT, p)} document ${i + 1}`)));
  }

  for (const entry of (k["patches"] ?? []) as unknown[]) {
    if (!isRecord(entry) || typeof entry["path"] !== "string" || entry["target"] !== undefined) throw new Error(`${where}: only "patches: - path: <strategic merge patch>" is supported`);
    const p = join(abs, entry["path"]);
    for (const [i, doc] of readYamlDocuments(p).entries()) {
      const patchWhere = `${relative(REPO_ROOT, p)} document ${i + 1}`;
      const patch = asObject(doc, patchWhere);
      const at = objects.findIndex((o) => sameTarget(o, patch));
      if (at < 0) throw new Error(`${patchWhere}: no ${patch.kind} "${patch.metadata.name}" to patch`);
      const { $patch: directive, ...rest } = patch as K8sObject & { $patch?: string };
      if (directive === "delete") objects.splice(at, 1);
      else if (directive === undefined) objects[at] = strategicMerge(objects[at], rest, patchWhere) as K8sObject;
      else throw new Error(`${patchWhere}: $patch: ${directive} is not supported`);
    }
  }

  if (typeof k["namespace"] === "string") {
    const ns = k["namespace"];
    objects = objects.map((o) => (CLUSTER_SCOPED.has(o.kind) ? o : { ...o, metadata: { ...o.metadata, namespace: ns } }));
  }
  if (Array.isArray(k["images"])) for (const o of objects) setImages(o, k["images"] as Record<string, unknown>[]);
  return objects;
}
