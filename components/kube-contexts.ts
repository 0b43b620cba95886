// The clusters' kube contexts on the host: one kubeconfig holding them all (a stack output), optionally merged
// into the user's kubeconfig so that every `kubectl --context <cluster>` of the README works.
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { dump, load } from "js-yaml";
import { project } from "./types";

interface NamedEntry {
  name: string;
}
interface Kubeconfig {
  clusters?: NamedEntry[];
  users?: NamedEntry[];
  contexts?: NamedEntry[];
}

/** One kubeconfig with the clusters, users and contexts of every given kubeconfig; current = the first. */
export function mergeKubeconfigs(kubeconfigs: string[]): string {
  const docs = kubeconfigs.map((k) => load(k) as Kubeconfig);
  const all = (key: keyof Kubeconfig) => docs.flatMap((d) => d[key] ?? []);
  const contexts = all("contexts");
  const names = contexts.map((c) => c.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new Error(`two clusters have the kube context ${duplicate}`);
  return dump(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: all("clusters"),
      users: all("users"),
      contexts,
      "current-context": names[0] ?? "",
      preferences: {},
    },
    { lineWidth: -1 },
  );
}

/** Every cluster's context in one kubeconfig. Secret. */
export function mergedKubeconfig(clusters: { kubeconfig: pulumi.Input<string> }[]): pulumi.Output<string> {
  return pulumi.secret(pulumi.all(clusters.map((c) => c.kubeconfig)).apply(mergeKubeconfigs));
}

export interface KubeContextsArgs {
  /** The clusters whose contexts (named after them) go into the file. */
  clusters: { kubeconfig: pulumi.Input<string> }[];
  /** The kubeconfig to merge into; a leading `~` is the user's home. Entries of other names are left alone. */
  path: string;
}

/** The project's directory: the merge script and the js-yaml it requires live there. */
const projectDir = path.join(__dirname, "..");

export class KubeContexts extends pulumi.ComponentResource {
  /** The merged kubeconfig of all the clusters. Secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** The file the contexts were merged into, as given. */
  readonly path: string;
  /** Merges the contexts on create and update, removes them on destroy. */
  readonly merge: command.local.Command;

  constructor(name: string, args: KubeContextsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${project}:index:KubeContexts`, name, {}, opts);
    if (args.path.trim() === "") {
      throw new pulumi.ResourceError(`KubeContexts ${name}: path is empty: expected a kubeconfig path`, this);
    }
    this.path = args.path;
    this.kubeconfig = mergedKubeconfig(args.clusters);
    // A small Node script, so the host needs neither kubectl nor jq. The kubeconfigs reach it through the
    // (secret) environment; it prints only the file's path and the context names.
    this.merge = new command.local.Command(
      `${name}-merge`,
      {
        dir: projectDir,
        create: "node scripts/kube-contexts.js merge",
        delete: "node scripts/kube-contexts.js remove",
        environment: { KUBECONFIG_PATH: args.path, LAB_KUBECONFIG: this.kubeconfig },
        // Another file: take the contexts out of the old one (delete runs with the old inputs).
        triggers: [args.path],
      },
      { parent: this },
    );
    this.registerOutputs({ kubeconfig: this.kubeconfig, path: this.path });
  }
}
