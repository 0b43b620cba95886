// A long-lived bearer token for a service account: what Argo CD's cluster secrets and Istio's remote secrets
// carry. Since Kubernetes 1.24 no token Secret is made automatically; a `kubernetes.io/service-account-token`
// Secret annotated with the account's name is filled by the token controller with `token`, `ca.crt` and
// `namespace`. The Secret is created once and kept, so the token is not re-minted on every `up` (istiod
// leaks memory on each re-token of a remote cluster).
//
// Reading the token back: pulumi-kubernetes' await logic for Secrets of this type
// (provider/pkg/await/awaiters.go, untilCoreV1SecretInitialized) watches until `data` is non-empty, but for
// only 5 seconds, and `Creation` then returns the live object (a GET after the await), so `data` is the
// filled one. To not depend on that 5 s window on a busy first boot, the Secret also carries
// `pulumi.com/waitFor: jsonpath={.data.token}`, which waits for the token itself under the resource's
// customTimeouts (default 10 minutes). No second read (Secret.get) is needed.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { type ClusterRef, project } from "./types";

export interface ServiceAccountTokenArgs {
  /** The cluster the service account lives in; its provider creates the objects. */
  cluster: ClusterRef;
  /** Namespace of the service account and of its token Secret. It must exist (e.g. `kube-system`). */
  namespace: pulumi.Input<string>;
  /** Name of the service account, e.g. `argocd-manager`. */
  serviceAccountName: string;
  /**
   * Create the service account, or refer to one that something else creates (e.g. a chart).
   * @default true - the account is created here.
   */
  createServiceAccount?: boolean;
  /**
   * What creates a pre-existing account (e.g. the Argo CD Application that installs `istio-base`). The token
   * Secret waits for these: the token controller deletes a token Secret whose account does not exist.
   * @default [] - nothing to wait for (required in practice when `createServiceAccount` is false).
   */
  serviceAccountCreatedBy?: pulumi.Input<pulumi.Resource>[];
  /**
   * Name of the token Secret.
   * @default `<serviceAccountName>-token`
   */
  secretName?: string;
  /**
   * How long to wait for the token controller to fill the Secret.
   * @default 300
   */
  timeoutSeconds?: number;
}

/** A service account (created or referred to) with a long-lived token read back as secret outputs. */
export class ServiceAccountToken extends pulumi.ComponentResource {
  /** The service account, when this component created it. */
  readonly serviceAccount?: k8s.core.v1.ServiceAccount;
  /** The `kubernetes.io/service-account-token` Secret. */
  readonly secret: k8s.core.v1.Secret;
  /** The service account's name. */
  readonly serviceAccountName: pulumi.Output<string>;
  /** The bearer token (decoded JWT). Secret. */
  readonly token: pulumi.Output<string>;
  /** The cluster CA certificate as PEM, as the token controller wrote it. Secret. */
  readonly caCertPem: pulumi.Output<string>;
  /** The cluster CA certificate as base64 of the PEM (kubeconfig `certificate-authority-data`). Secret. */
  readonly caData: pulumi.Output<string>;

  constructor(name: string, args: ServiceAccountTokenArgs, opts?: pulumi.ComponentResourceOptions) {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(args.serviceAccountName)) {
      // Before super: a bad argument registers nothing.
      throw new pulumi.ResourceError(
        `ServiceAccountToken ${name}: serviceAccountName is ${JSON.stringify(args.serviceAccountName)}: expected a DNS-1123 subdomain such as argocd-manager`,
        opts?.parent,
      );
    }
    super(`${project}:index:ServiceAccountToken`, name, {}, opts);
    const create = args.createServiceAccount ?? true;
    const childOpts = { parent: this, provider: args.cluster.provider, deletedWith: args.cluster.vm.launch };

    if (create) {
      this.serviceAccount = new k8s.core.v1.ServiceAccount(
        `${name}-sa`,
        { metadata: { name: args.serviceAccountName, namespace: args.namespace } },
        childOpts,
      );
      this.serviceAccountName = this.serviceAccount.metadata.name;
    } else {
      this.serviceAccountName = pulumi.output(args.serviceAccountName);
    }

    const secretName = args.secretName ?? `${args.serviceAccountName}-token`;
    const timeoutSeconds = args.timeoutSeconds ?? 300;
    this.secret = new k8s.core.v1.Secret(
      `${name}-secret`,
      {
        metadata: {
          name: secretName,
          namespace: this.serviceAccount?.metadata.namespace ?? args.namespace,
          annotations: {
            // A data edge to the account when created here: the Secret is created after it.
            "kubernetes.io/service-account.name": this.serviceAccountName,
            "pulumi.com/waitFor": "jsonpath={.data.token}",
          },
        },
        type: "kubernetes.io/service-account-token",
      },
      {
        ...childOpts,
        // Only a pre-existing account needs an explicit edge: there is no data flowing from its creator.
        dependsOn: args.serviceAccountCreatedBy ?? [],
        customTimeouts: { create: `${timeoutSeconds}s`, update: `${timeoutSeconds}s` },
      },
    );

    const at = pulumi.interpolate`${this.secret.metadata.namespace}/${secretName}`;
    const field = (key: string) =>
      pulumi.secret(
        pulumi
          .all([this.secret.data, at])
          .apply(([data, where]) => tokenSecretField(data, key, where, args.serviceAccountName)),
      );
    this.caData = field("ca.crt");
    this.token = field("token").apply((b64) => Buffer.from(b64, "base64").toString("utf8"));
    this.caCertPem = this.caData.apply((b64) => Buffer.from(b64, "base64").toString("utf8"));

    this.registerOutputs({
      serviceAccountName: this.serviceAccountName,
      token: this.token,
      caCertPem: this.caCertPem,
      caData: this.caData,
    });
  }
}

/**
 * One key of a filled service-account-token Secret's `data` (base64, as stored). Fails naming the Secret when
 * the token controller has not filled it (it never does when the service account is missing).
 */
export function tokenSecretField(
  data: Record<string, string> | undefined,
  key: string,
  where: string,
  serviceAccountName: string,
): string {
  const value = data?.[key];
  if (!value) {
    throw new Error(
      `Secret ${where} has no ${key}: the token controller did not fill it (does service account ${serviceAccountName} exist?)`,
    );
  }
  return value;
}
