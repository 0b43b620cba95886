// One Argo CD Application on the management cluster, deploying a pinned Git source to a registered cluster,
// that Pulumi waits on until Argo CD reports it Synced and Healthy.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import type { ArgoCd } from "./argocd";
import { type ClusterRef, project } from "./types";

/** An `ignoreDifferences` entry of an Application (Argo CD 2.7). */
export interface IgnoreDifference {
  group: string;
  kind: string;
  name?: string;
  namespace?: string;
  jsonPointers?: string[];
  jqPathExpressions?: string[];
  managedFieldsManagers?: string[];
}

/** The Application's Git source: a repository at a full commit SHA, a path, optional Helm values. */
export interface ApplicationSource {
  repoUrl: string;
  /** A full 40-character commit SHA (never a branch, tag or HEAD). */
  commit: string;
  /** Path inside the repository, e.g. `charts/base` or `.`. */
  path: string;
  /**
   * Helm values, passed as the `helm.values` YAML string (`helm.valuesObject` needs Argo CD 2.8).
   * @default undefined - no helm section: the path is plain manifests or a chart with its own defaults.
   */
  helmValues?: Record<string, unknown>;
}

export interface ArgoApplicationArgs {
  /** The Argo CD that owns the Application (its management cluster, namespace, projects, cluster secrets). */
  argocd: ArgoCd;
  /** The destination: a workload cluster registered with `argocd`. */
  cluster: ClusterRef;
  /** The Application's name, e.g. `kube-01-istio-base` (what `argocd app get` and the README use). */
  appName: string;
  /** The AppProject, one of `argocd.projects`. */
  project: string;
  source: ApplicationSource;
  /** Namespace the manifests go to on the destination cluster. */
  namespace: string;
  /** @default [] */
  ignoreDifferences?: IgnoreDifference[];
  /**
   * Extra sync options (e.g. `RespectIgnoreDifferences=true`).
   * @default [] - only Argo CD's defaults.
   */
  syncOptions?: string[];
  /** How long Argo CD may take to make the Application Synced and Healthy, in seconds. */
  timeoutSeconds: number;
  /**
   * What must be in place first where no data flows (e.g. the previous Istio part, the `cacerts` Secret).
   * Component-level `dependsOn` is honoured too (added to the Application itself).
   * @default []
   */
  after?: pulumi.Input<pulumi.Resource>[];
}

/** The `pulumi.com/waitFor` annotation value: a JSON array means all expressions must hold. */
export const waitForSyncedAndHealthy = JSON.stringify([
  "jsonpath={.status.sync.status}=Synced",
  "jsonpath={.status.health.status}=Healthy",
]);

/** The Application's spec, without its destination server (known only once the cluster is registered). */
export function applicationSpec(args: {
  project: string;
  source: ApplicationSource;
  server: string;
  namespace: string;
  ignoreDifferences?: IgnoreDifference[];
  syncOptions?: string[];
}) {
  const { source } = args;
  return {
    project: args.project,
    source: {
      repoURL: source.repoUrl,
      targetRevision: source.commit,
      path: source.path,
      ...(source.helmValues ? { helm: { values: yaml.dump(source.helmValues, { sortKeys: true }) } } : {}),
    },
    destination: { server: args.server, namespace: args.namespace },
    syncPolicy: {
      automated: { prune: true, selfHeal: true },
      ...(args.syncOptions && args.syncOptions.length > 0 ? { syncOptions: args.syncOptions } : {}),
      retry: { limit: 10, backoff: { duration: "10s", factor: 2, maxDuration: "3m" } },
    },
    ...(args.ignoreDifferences && args.ignoreDifferences.length > 0
      ? { ignoreDifferences: args.ignoreDifferences }
      : {}),
  };
}

/** One Argo CD Application, waited on until Synced and Healthy. */
export class ArgoApplication extends pulumi.ComponentResource {
  /** The Application custom resource (on the management cluster). */
  readonly application: k8s.apiextensions.CustomResource;
  /** The Application's name. */
  readonly appName: string;

  constructor(name: string, args: ArgoApplicationArgs, opts?: pulumi.ComponentResourceOptions) {
    const problem = validateSource(args.source);
    if (problem) {
      throw new pulumi.ResourceError(`ArgoApplication ${name}: ${problem}`, opts?.parent);
    }
    if (!args.argocd.projects.includes(args.project)) {
      throw new pulumi.ResourceError(
        `ArgoApplication ${name}: project is ${JSON.stringify(args.project)}: expected one of the Argo CD projects (${args.argocd.projects.join(", ")})`,
        opts?.parent,
      );
    }
    super(`${project}:index:ArgoApplication`, name, {}, opts);
    this.appName = args.appName;

    const server = args.argocd.serverOf(args.cluster);
    this.application = new k8s.apiextensions.CustomResource(
      `${name}-application`,
      {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Application",
        metadata: {
          name: args.appName,
          // Data edges: the namespace comes from the Argo CD release, so its CRDs exist first.
          namespace: args.argocd.namespace,
          annotations: { "pulumi.com/waitFor": waitForSyncedAndHealthy },
          // Deleting the Application deletes what it deployed (as `argocd app delete` does).
          finalizers: ["resources-finalizer.argocd.argoproj.io"],
        },
        spec: server.apply((s) =>
          applicationSpec({
            project: args.project,
            source: args.source,
            server: s,
            namespace: args.namespace,
            ignoreDifferences: args.ignoreDifferences,
            syncOptions: args.syncOptions,
          }),
        ),
      },
      {
        parent: this,
        provider: args.argocd.cluster.provider,
        deletedWith: args.argocd.cluster.vm.launch,
        // No data flows from the previous part of a chain, nor from a component's dependsOn.
        dependsOn: [...(args.after ?? []), ...toArray(opts?.dependsOn), args.argocd.project(args.project)],
        customTimeouts: { create: `${args.timeoutSeconds}s`, update: `${args.timeoutSeconds}s` },
      },
    );
    this.registerOutputs({ appName: this.appName });
  }
}

/** A `dependsOn` option as a list. */
function toArray(x: pulumi.ResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
  if (x === undefined) return [];
  return Array.isArray(x) ? x : [x as pulumi.Input<pulumi.Resource>];
}

/** Why a source would float or not resolve, or undefined when it is pinned. */
export function validateSource(source: ApplicationSource): string | undefined {
  if (!/^[0-9a-f]{40}$/.test(source.commit)) {
    return `source.commit is ${JSON.stringify(source.commit)}: expected a full 40-character commit SHA (a branch, tag or HEAD would float)`;
  }
  if (!/^https:\/\/\S+$/.test(source.repoUrl)) {
    return `source.repoUrl is ${JSON.stringify(source.repoUrl)}: expected an https:// Git repository URL`;
  }
  return undefined;
}
