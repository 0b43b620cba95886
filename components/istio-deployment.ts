// Istio on one workload cluster through Argo CD: the five charts of the pinned chart repository, as the
// Applications `<cluster>-istio-base|cni|pilot|igws|ewgw`, each waited on (Synced + Healthy) before the next.
import * as pulumi from "@pulumi/pulumi";
import type { GitSource } from "../config";
import type { ArgoCd } from "./argocd";
import { istioWebhookIgnores } from "./argocd";
import { ArgoApplication, type IgnoreDifference } from "./argocd-application";
import { type ClusterRef, project } from "./types";

/** The charts, in the order they are installed. */
export const istioParts = ["base", "cni", "pilot", "igws", "ewgw"] as const;
export type IstioPart = (typeof istioParts)[number];

/** Kubernetes' cluster DNS domain, which k3s keeps at its default. */
export const k3sClusterDomain = "cluster.local";

/**
 * The values every chart of the pinned repository reads (the keys of its `values/<cluster>.yaml`, checked
 * at commit 0d58ab0e: base reads network; cni and igws revision; ewgw network and revision; pilot all five).
 */
export function istioChartValues(args: {
  meshId: string;
  network: string;
  cluster: string;
  domain: string;
  revision: string;
}) {
  return {
    mesh: args.meshId,
    network: args.network,
    cluster: args.cluster,
    domain: args.domain,
    revision: args.revision,
  };
}

/** What pilot's Application ignores: istiod's own writes (as the original) and its webhook patches. */
export const pilotIgnoreDifferences: IgnoreDifference[] = [
  { group: "*", kind: "*", managedFieldsManagers: ["pilot-discovery"] },
  { group: "admissionregistration.k8s.io", kind: "MutatingWebhookConfiguration", ...istioWebhookIgnores },
  { group: "admissionregistration.k8s.io", kind: "ValidatingWebhookConfiguration", ...istioWebhookIgnores },
];

/**
 * What pilot's Application also ignores while istiod runs a debug image set outside the chart (the chart
 * hard-codes `docker.io/istio/pilot:<version>`, no value sets it): the `discovery` container's image of
 * istiod-<revision>, so that self-heal keeps the debug image. Without it, self-heal restores the chart's.
 */
export function pilotImageIgnoreDifference(revision: string): IgnoreDifference {
  return {
    group: "apps",
    kind: "Deployment",
    name: `istiod-${revision}`,
    namespace: "istio-system",
    jqPathExpressions: ['.spec.template.spec.containers[] | select(.name == "discovery") | .image'],
  };
}

export interface IstioDeploymentArgs {
  argocd: ArgoCd;
  /** The workload cluster (registered with `argocd`). */
  cluster: ClusterRef;
  /** The Istio charts repository at a pinned commit. */
  charts: GitSource;
  /** Mesh ID, e.g. mesh1. */
  meshId: string;
  /** Istio revision, e.g. 1-16-2 (istiod is `istiod-<revision>`). */
  revision: string;
  /**
   * The cluster's DNS domain (the charts' `domain`: istiod `--domain`, proxies' clusterDomain).
   * @default "cluster.local"
   */
  clusterDomain?: string;
  /** The `cacerts` Secret of this cluster: istiod must find it when it starts, so pilot waits for it. */
  cacerts: pulumi.Resource;
  /** Per-application Synced + Healthy timeout, in seconds. */
  timeoutSeconds: number;
  /** @default "istio" */
  project?: string;
  /**
   * istiod's image is set outside the chart (debugPilotImage): pilot's Application ignores it.
   * @default false - Argo CD keeps istiod at the chart's image.
   */
  keepPilotImage?: boolean;
}

/** The five Istio Applications of one workload cluster, chained base → cni → pilot → igws → ewgw. */
export class IstioDeployment extends pulumi.ComponentResource {
  readonly apps: Record<IstioPart, ArgoApplication>;
  /** The last part (the east-west gateway): Istio is fully up on this cluster once it is. */
  readonly ready: ArgoApplication;

  constructor(name: string, args: IstioDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${project}:index:IstioDeployment`, name, {}, opts);
    const c = args.cluster.spec;
    const values = istioChartValues({
      meshId: args.meshId,
      network: c.network,
      cluster: c.name,
      domain: args.clusterDomain ?? k3sClusterDomain,
      revision: args.revision,
    });
    const apps: Partial<Record<IstioPart, ArgoApplication>> = {};
    let previous: ArgoApplication | undefined;
    for (const part of istioParts) {
      const after: pulumi.Resource[] = previous ? [previous] : [];
      if (part === "pilot") after.push(args.cacerts);
      previous = new ArgoApplication(
        `${name}-${part}`,
        {
          argocd: args.argocd,
          cluster: args.cluster,
          appName: `${c.name}-istio-${part}`,
          project: args.project ?? "istio",
          source: {
            repoUrl: args.charts.repoUrl,
            commit: args.charts.commit,
            path: `charts/${part}`,
            helmValues: values,
          },
          namespace: "istio-system",
          ignoreDifferences:
            part !== "pilot"
              ? []
              : args.keepPilotImage
                ? [...pilotIgnoreDifferences, pilotImageIgnoreDifference(args.revision)]
                : pilotIgnoreDifferences,
          // Keep istiod's caBundle / failurePolicy when Argo CD syncs (ignoreDifferences alone only hides them).
          syncOptions: part === "pilot" ? ["RespectIgnoreDifferences=true"] : [],
          timeoutSeconds: args.timeoutSeconds,
          after,
        },
        { parent: this },
      );
      apps[part] = previous;
    }
    this.apps = apps as Record<IstioPart, ArgoApplication>;
    this.ready = this.apps.ewgw;
    this.registerOutputs({});
  }
}
