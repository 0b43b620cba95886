// Argo CD on the management cluster (argo-helm's argo-cd chart through helm.v3.Release, so previews work
// before the cluster exists), its admin password, the workload clusters registered declaratively (what
// `argocd cluster add` does: a cluster-admin service account with a long-lived token in each workload
// cluster, a cluster Secret in `argocd`), the AppProjects, and optionally an `argocd` CLI context.
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as yaml from "js-yaml";
import { ServiceAccountToken } from "./service-account-token";
import { bash, script } from "./shell";
import { type ClusterRef, project } from "./types";

/** argo-helm's chart repository. */
export const argoHelmRepo = "https://argoproj.github.io/argo-helm";

/**
 * `admin.passwordMtime`. The chart defaults it to "now", which would change the Secret on every `up`; a fixed
 * past instant keeps the release stable. (Argo CD only compares it with the issue time of existing sessions.)
 */
export const adminPasswordMtime = "2023-01-01T00:00:00Z";

/** Istio's webhooks: istiod patches `caBundle` in and flips the validator's `failurePolicy` to Fail. */
export const istioWebhookIgnores = {
  jqPathExpressions: [".webhooks[]?.clientConfig.caBundle", ".webhooks[]?.failurePolicy"],
};

/** The chart values (without the password hash, which is secret). Pure, so it is tested as data. */
export function argoCdValues(bcryptHash: string) {
  const ignore = yaml.dump(istioWebhookIgnores);
  return {
    // CRDs stay when the release is removed only if asked; the lab removes everything on destroy.
    crds: { install: true, keep: false },
    configs: {
      cm: {
        // System-wide: Istio's webhooks never keep an app OutOfSync, whatever the app says.
        "resource.customizations.ignoreDifferences.admissionregistration.k8s.io_MutatingWebhookConfiguration":
          ignore,
        "resource.customizations.ignoreDifferences.admissionregistration.k8s.io_ValidatingWebhookConfiguration":
          ignore,
      },
      secret: {
        argocdServerAdminPassword: bcryptHash,
        argocdServerAdminPasswordMtime: adminPasswordMtime,
      },
    },
    // k3s' ServiceLB gives a LoadBalancer the node's IP: Argo CD answers on https://<management VM IP>.
    server: { service: { type: "LoadBalancer" } },
  };
}

/** A workload cluster's registration Secret, as Argo CD reads it. Pure: tested as data. */
export function clusterSecretData(args: {
  name: string;
  server: string;
  bearerToken: string;
  caData: string;
}) {
  return {
    name: args.name,
    server: args.server,
    config: JSON.stringify({
      bearerToken: args.bearerToken,
      tlsClientConfig: { insecure: false, caData: args.caData },
    }),
  };
}

export interface ArgoCdArgs {
  /** The management cluster: Argo CD runs there, and every Argo CD object goes through its provider. */
  cluster: ClusterRef;
  /** The clusters Argo CD deploys to; each gets `argocd-manager` and a cluster Secret named after it. */
  workloadClusters: ClusterRef[];
  /** argo-helm `argo-cd` chart version, e.g. 5.42.3 (= Argo CD v2.7.11). */
  chartVersion: string;
  /**
   * AppProjects to create (each allows every repository, destination and cluster-scoped kind, as the
   * original lab's `istio` and `httpbin`).
   * @default ["istio", "httpbin"]
   */
  projects?: string[];
  /**
   * Create an `argocd` CLI context named after the management cluster, when the CLI is installed on the host.
   * @default false
   */
  cliContext?: boolean;
  /**
   * How long the chart may take to install (Helm --wait), in seconds.
   * @default 900
   */
  installTimeoutSeconds?: number;
}

/** Argo CD on the management cluster with the workload clusters registered. */
export class ArgoCd extends pulumi.ComponentResource {
  /** The management cluster. */
  readonly cluster: ClusterRef;
  /** Argo CD's namespace, once the release is installed (so a data edge to it). */
  readonly namespace: pulumi.Output<string>;
  readonly release: k8s.helm.v3.Release;
  /** `https://<management VM IP>` (k3s ServiceLB). */
  readonly url: pulumi.Output<string>;
  readonly username: string;
  /** The admin password. Secret. */
  readonly password: pulumi.Output<string>;
  /** AppProject names. */
  readonly projects: string[];
  /** Cluster registration Secrets by cluster name. */
  readonly clusterSecrets: Record<string, k8s.core.v1.Secret>;
  /** `argocd-manager` tokens by cluster name. */
  readonly managerTokens: Record<string, ServiceAccountToken>;
  private readonly appProjects: Record<string, k8s.apiextensions.CustomResource>;

  constructor(name: string, args: ArgoCdArgs, opts?: pulumi.ComponentResourceOptions) {
    const projects = args.projects ?? ["istio", "httpbin"];
    if (args.cluster.spec.role !== "management") {
      throw new pulumi.ResourceError(
        `ArgoCd ${name}: cluster is ${args.cluster.spec.name} (role ${args.cluster.spec.role}): expected the management cluster`,
        opts?.parent,
      );
    }
    for (const c of args.workloadClusters) {
      if (c.spec.role !== "workload") {
        throw new pulumi.ResourceError(
          `ArgoCd ${name}: workloadClusters includes ${c.spec.name} (role ${c.spec.role}): expected only workload clusters`,
          opts?.parent,
        );
      }
    }
    super(`${project}:index:ArgoCd`, name, {}, opts);
    this.cluster = args.cluster;
    this.projects = projects;
    this.username = "admin";

    const mgmt = { parent: this, provider: args.cluster.provider, deletedWith: args.cluster.vm.launch };

    const password = new random.RandomPassword(
      `${name}-admin-password`,
      { length: 24, special: false },
      { parent: this },
    );
    this.password = pulumi.secret(password.result);

    this.release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: "argocd",
        chart: "argo-cd",
        version: args.chartVersion,
        repositoryOpts: { repo: argoHelmRepo },
        namespace: "argocd",
        createNamespace: true,
        timeout: args.installTimeoutSeconds ?? 900,
        values: pulumi.secret(password.bcryptHash.apply((hash) => argoCdValues(hash))),
      },
      mgmt,
    );
    this.namespace = this.release.status.namespace.apply((ns) => ns ?? "argocd");
    this.url = pulumi.interpolate`https://${args.cluster.vm.ip}`;

    this.appProjects = {};
    for (const p of projects) {
      this.appProjects[p] = new k8s.apiextensions.CustomResource(
        `${name}-project-${p}`,
        {
          apiVersion: "argoproj.io/v1alpha1",
          kind: "AppProject",
          metadata: { name: p, namespace: this.namespace },
          spec: appProjectSpec(),
        },
        mgmt,
      );
    }

    this.clusterSecrets = {};
    this.managerTokens = {};
    for (const c of args.workloadClusters) {
      const n = c.spec.name;
      const inCluster = { parent: this, provider: c.provider, deletedWith: c.vm.launch };
      const token = new ServiceAccountToken(
        `${name}-${n}-manager`,
        { cluster: c, namespace: "kube-system", serviceAccountName: "argocd-manager" },
        { parent: this },
      );
      new k8s.rbac.v1.ClusterRoleBinding(
        `${name}-${n}-manager-binding`,
        {
          metadata: { name: "argocd-manager-role-binding" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
          subjects: [{ kind: "ServiceAccount", name: token.serviceAccountName, namespace: "kube-system" }],
        },
        inCluster,
      );
      this.managerTokens[n] = token;
      this.clusterSecrets[n] = new k8s.core.v1.Secret(
        `${name}-cluster-${n}`,
        {
          metadata: {
            name: n,
            namespace: this.namespace,
            labels: {
              "argocd.argoproj.io/secret-type": "cluster",
              "topology.istio.io/network": c.spec.network,
            },
          },
          type: "Opaque",
          stringData: pulumi.secret(
            pulumi
              .all([c.apiServer, token.token, token.caData])
              .apply(([server, bearerToken, caData]) =>
                clusterSecretData({ name: n, server, bearerToken, caData }),
              ),
          ),
        },
        mgmt,
      );
    }

    if (args.cliContext ?? false) {
      new command.local.Command(
        `${name}-cli-context`,
        {
          create: script("argocd-context.sh"),
          delete: script("argocd-context-delete.sh"),
          interpreter: bash,
          environment: {
            ARGOCD_SERVER: args.cluster.vm.ip,
            ARGOCD_CONTEXT: args.cluster.spec.name,
            ARGOCD_USERNAME: this.username,
            ARGOCD_PASSWORD: this.password,
          },
          triggers: [args.cluster.vm.launch.id],
          logging: "stderr",
        },
        // The server answers only once the release is installed; no data flows from it.
        { parent: this, dependsOn: [this.release] },
      );
    }

    this.registerOutputs({
      url: this.url,
      username: this.username,
      password: this.password,
      namespace: this.namespace,
    });
  }

  /** The AppProject resource named `name`. */
  project(name: string): k8s.apiextensions.CustomResource {
    const p = this.appProjects[name];
    if (!p)
      throw new pulumi.ResourceError(`ArgoCd: no project ${name} (have ${this.projects.join(", ")})`, this);
    return p;
  }

  /**
   * The `destination.server` of `cluster`, carrying a dependency on its cluster Secret (Argo CD can deploy
   * there only once it is registered).
   */
  serverOf(cluster: ClusterRef): pulumi.Output<string> {
    const secret = this.clusterSecrets[cluster.spec.name];
    if (!secret) {
      throw new pulumi.ResourceError(
        `ArgoCd: cluster ${cluster.spec.name} is not registered (registered: ${Object.keys(this.clusterSecrets).join(", ")})`,
        this,
      );
    }
    return pulumi.all([secret.metadata.name, cluster.apiServer]).apply(([, server]) => server);
  }
}

/** An AppProject that allows everything, as the original lab's `istio` and `httpbin`. */
export function appProjectSpec() {
  return {
    clusterResourceWhitelist: [{ group: "*", kind: "*" }],
    destinations: [{ namespace: "*", server: "*" }],
    sourceRepos: ["*"],
  };
}
