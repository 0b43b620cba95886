// Multi-primary endpoint discovery, made natively: what `istioctl create-remote-secret` (Istio 1.16,
// istioctl/pkg/multicluster/remote_secret.go) does for each ordered pair of workload clusters. Each cluster's
// istiod reads every other cluster's API server with the other's `istio-reader-service-account`.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { ServiceAccountToken } from "./service-account-token";
import { type ClusterRef, project } from "./types";

/** The account istiod reads a remote cluster with; the istio-base chart creates it. */
export const readerServiceAccount = "istio-reader-service-account";
/** The token Secret istioctl 1.16 creates for the reader account (tokenSecretName). */
export const readerTokenSecret = `${readerServiceAccount}-istio-remote-secret-token`;

/** `istio-remote-secret-<cluster>`: the Secret, in a reading cluster, that grants access to `cluster`. */
export function remoteSecretName(cluster: string): string {
  return `istio-remote-secret-${cluster}`;
}

export interface RemoteKubeconfigArgs {
  /** The remote cluster's name: cluster, context and user names, and Istio's cluster ID. */
  clusterName: string;
  /** The remote API server URL, e.g. `https://192.168.64.4:6443`. */
  server: string;
  /** Base64 of the remote cluster's CA certificate (PEM). */
  caData: string;
  /** Bearer token of the remote cluster's reader service account. */
  token: string;
}

/** The kubeconfig istioctl puts in a remote secret (createBearerTokenKubeconfig), keys in the order it writes. */
export function remoteKubeconfig(a: RemoteKubeconfigArgs): string {
  for (const [key, value] of Object.entries(a)) {
    if (value === "")
      throw new Error(`remoteKubeconfig: ${key} is empty; a remote secret needs all of its fields`);
  }
  return yaml.dump(
    {
      apiVersion: "v1",
      clusters: [
        { cluster: { "certificate-authority-data": a.caData, server: a.server }, name: a.clusterName },
      ],
      contexts: [{ context: { cluster: a.clusterName, user: a.clusterName }, name: a.clusterName }],
      "current-context": a.clusterName,
      kind: "Config",
      preferences: {},
      users: [{ name: a.clusterName, user: { token: a.token } }],
    },
    { lineWidth: -1 },
  );
}

export interface EndpointDiscoveryArgs {
  /**
   * The workload clusters. Each reads every other; `istioBase` is the cluster's istio-base Application, which
   * creates `istio-system` and the reader service account.
   */
  clusters: { cluster: ClusterRef; istioBase: pulumi.Resource }[];
  /**
   * Istio's namespace, where the remote secrets and reader tokens live.
   * @default "istio-system"
   */
  namespace?: string;
}

/** Remote secrets between every ordered pair of workload clusters (A reads B: `istio-remote-secret-<B>` in A). */
export class EndpointDiscovery extends pulumi.ComponentResource {
  /** Reader tokens by cluster name: the long-lived token Secret in each cluster that others read. */
  readonly readerTokens: Record<string, ServiceAccountToken> = {};
  /** The remote secrets, by `<reader>/<remote>`. */
  readonly remoteSecrets: Record<string, k8s.core.v1.Secret> = {};
  /** Which cluster reads which: reader -> remote cluster names. */
  readonly readers: Record<string, string[]> = {};

  constructor(name: string, args: EndpointDiscoveryArgs, opts?: pulumi.ComponentResourceOptions) {
    const names = args.clusters.map((c) => c.cluster.spec.name);
    const twice = names.filter((n, i) => names.indexOf(n) !== i);
    if (twice.length > 0) {
      throw new pulumi.ResourceError(
        `EndpointDiscovery ${name}: clusters lists ${twice.join(", ")} more than once; pass each workload cluster once`,
        opts?.parent,
      );
    }
    super(`${project}:index:EndpointDiscovery`, name, {}, opts);
    const namespace = args.namespace ?? "istio-system";

    // One token per cluster that is read, kept across `up`s: istiod leaks memory on each re-token.
    if (args.clusters.length > 1) {
      for (const { cluster, istioBase } of args.clusters) {
        this.readerTokens[cluster.spec.name] = new ServiceAccountToken(
          `${name}-${cluster.spec.name}-reader`,
          {
            cluster,
            namespace,
            serviceAccountName: readerServiceAccount,
            createServiceAccount: false,
            serviceAccountCreatedBy: [istioBase],
            secretName: readerTokenSecret,
          },
          { parent: this },
        );
      }
    }

    for (const reader of args.clusters) {
      const readerName = reader.cluster.spec.name;
      this.readers[readerName] = [];
      for (const remote of args.clusters) {
        const remoteName = remote.cluster.spec.name;
        if (remoteName === readerName) continue;
        this.readers[readerName].push(remoteName);
        const token = this.readerTokens[remoteName];
        const kubeconfig = pulumi
          .all([remote.cluster.apiServer, token.caData, token.token])
          .apply(([server, caData, bearer]) =>
            remoteKubeconfig({ clusterName: remoteName, server, caData, token: bearer }),
          );
        this.remoteSecrets[`${readerName}/${remoteName}`] = new k8s.core.v1.Secret(
          `${name}-${readerName}-reads-${remoteName}`,
          {
            metadata: {
              name: remoteSecretName(remoteName),
              namespace,
              labels: { "istio/multiCluster": "true" },
              annotations: { "networking.istio.io/cluster": remoteName },
            },
            stringData: { [remoteName]: pulumi.secret(kubeconfig) },
          },
          {
            parent: this,
            provider: reader.cluster.provider,
            deletedWith: reader.cluster.vm.launch,
            // istio-system in the reading cluster comes from its istio-base Application: no data edge says so.
            dependsOn: [reader.istioBase],
          },
        );
      }
    }

    this.registerOutputs({ readers: this.readers });
  }
}
