// The mesh's shared trust: one root CA and one intermediate CA per workload cluster, made with @pulumi/tls so
// the root key lives only in Pulumi's encrypted state, never in a VM, a cluster or an output.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { LabConfig } from "../config";
import { type ClusterRef, project } from "./types";

/** Key type, sizes and lifetimes of the CA certificates (`LabConfig.ca`). */
export type CaSettings = LabConfig["ca"];

/** The namespace Istio's control plane runs in, where istiod reads its plugged-in CA. */
export const istioNamespace = "istio-system";
/** The Secret istiod mounts at /etc/cacerts (`optional: true`: without it istiod silently self-signs). */
export const cacertsSecretName = "cacerts";

/**
 * Key usages of both CA certificates, in @pulumi/tls's snake_case spelling (it silently ignores anything
 * else). Istio (like Go's x509) needs keyCertSign on a signing CA and no extended key usage at all: an EKU
 * without serverAuth fails istiod's chain verification.
 */
export const caAllowedUses = ["cert_signing", "crl_signing", "digital_signature"];

export interface IstioCertificateAuthorityArgs {
  /** Key algorithm and size, and validity of the root and intermediate certificates. */
  settings: CaSettings;
  /**
   * Names of the workload clusters: each gets its own intermediate CA (own key) signed by the root.
   * `installInto` accepts only these clusters.
   */
  workloadClusters: string[];
  /** Organization (`O`) in every CA subject. @default "Istio" */
  organization?: string;
}

/** One workload cluster's intermediate CA. */
export interface IntermediateCa {
  /** The intermediate certificate (PEM): `ca-cert.pem`. */
  readonly certPem: pulumi.Output<string>;
  /** Its private key (PEM). Secret; written only into its own cluster's `cacerts`. */
  readonly keyPem: pulumi.Output<string>;
  /** The intermediate then the root (PEM): `cert-chain.pem`. */
  readonly chainPem: pulumi.Output<string>;
}

/** The PEMs of a CA in @pulumi/tls's PrivateKey arguments, never the P224 default curve. */
export function privateKeyArgs(settings: CaSettings): tls.PrivateKeyArgs {
  return settings.keyAlgorithm === "RSA"
    ? { algorithm: "RSA", rsaBits: settings.rsaBits }
    : { algorithm: "ECDSA", ecdsaCurve: settings.ecdsaCurve };
}

/** PEM blocks joined one per line, whatever trailing newlines each one has. */
export function pemBundle(...pems: string[]): string {
  return pems.map((p) => `${p.trim()}\n`).join("");
}

/** The `data` of a `cacerts` Secret, base64-encoded as the API stores it (no `stringData`: it fights SSA). */
export function cacertsData(pems: {
  caCert: string;
  caKey: string;
  rootCert: string;
  certChain: string;
}): Record<string, string> {
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
  return {
    "ca-cert.pem": b64(pems.caCert),
    "ca-key.pem": b64(pems.caKey),
    "root-cert.pem": b64(pems.rootCert),
    "cert-chain.pem": b64(pems.certChain),
  };
}

/**
 * The Istio root CA (self-signed, 10 years by default) and one intermediate CA per workload cluster, as
 * `step certificate create --profile root-ca / intermediate-ca` made them in the original lab. Certificates
 * are re-issued by a `pulumi up` run within `settings.earlyRenewalHours` of their expiry.
 */
export class IstioCertificateAuthority extends pulumi.ComponentResource {
  /** The root certificate (PEM): what every workload and mesh VM trusts. */
  readonly rootCertPem: pulumi.Output<string>;
  /** Intermediate CAs by workload cluster name. */
  readonly intermediates: Record<string, IntermediateCa> = {};
  /** The `cacerts` Secret in each cluster `installInto` was given, by cluster name. */
  readonly cacerts: Record<string, k8s.core.v1.Secret> = {};

  private readonly name: string;

  constructor(name: string, args: IstioCertificateAuthorityArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${project}:index:IstioCertificateAuthority`, name, {}, opts);
    this.name = name;
    const duplicate = args.workloadClusters.find((c, i) => args.workloadClusters.indexOf(c) !== i);
    if (duplicate !== undefined) {
      throw new pulumi.ResourceError(
        `IstioCertificateAuthority ${name}: workloadClusters lists ${JSON.stringify(duplicate)} twice; list each cluster once`,
        this,
      );
    }
    const s = args.settings;
    const organization = args.organization ?? "Istio";

    const rootKey = new tls.PrivateKey(`${name}-root-key`, privateKeyArgs(s), { parent: this });
    const root = new tls.SelfSignedCert(
      `${name}-root-cert`,
      {
        privateKeyPem: pulumi.secret(rootKey.privateKeyPem),
        subject: { organization, commonName: "Istio root CA" },
        isCaCertificate: true,
        // A root signs certificates and CRLs only.
        allowedUses: ["cert_signing", "crl_signing"],
        validityPeriodHours: s.rootValidityHours,
        earlyRenewalHours: s.earlyRenewalHours,
        setSubjectKeyId: true,
        setAuthorityKeyId: true,
      },
      { parent: this },
    );
    this.rootCertPem = root.certPem;

    for (const cluster of args.workloadClusters) {
      const key = new tls.PrivateKey(`${name}-${cluster}-key`, privateKeyArgs(s), { parent: this });
      const keyPem = pulumi.secret(key.privateKeyPem);
      const csr = new tls.CertRequest(
        `${name}-${cluster}-csr`,
        {
          privateKeyPem: keyPem,
          // L=<cluster> as Istio's tools/certs Makefile names its per-cluster intermediates.
          subject: { organization, commonName: `Intermediate CA ${cluster}`, locality: cluster },
        },
        { parent: this },
      );
      const cert = new tls.LocallySignedCert(
        `${name}-${cluster}-cert`,
        {
          certRequestPem: csr.certRequestPem,
          caCertPem: root.certPem,
          caPrivateKeyPem: pulumi.secret(rootKey.privateKeyPem),
          isCaCertificate: true,
          allowedUses: caAllowedUses,
          validityPeriodHours: s.intermediateValidityHours,
          earlyRenewalHours: s.earlyRenewalHours,
          setSubjectKeyId: true,
        },
        { parent: this },
      );
      this.intermediates[cluster] = {
        certPem: cert.certPem,
        keyPem,
        chainPem: pulumi.all([cert.certPem, root.certPem]).apply(([c, r]) => pemBundle(c, r)),
      };
    }

    this.registerOutputs({ rootCertPem: this.rootCertPem });
  }

  /**
   * Writes each workload cluster's trust into it, before anything Istio is synced there: namespace
   * `istio-system` labelled with the cluster's network, and the Secret `cacerts` istiod signs with.
   * Returns the Secrets by cluster name (also kept in `cacerts`); Istio's Argo CD apps depend on them.
   */
  installInto(clusters: ClusterRef[]): Record<string, k8s.core.v1.Secret> {
    const installed: Record<string, k8s.core.v1.Secret> = {};
    for (const cluster of clusters) {
      const c = cluster.spec.name;
      const ca = this.intermediates[c];
      if (ca === undefined) {
        throw new pulumi.ResourceError(
          `IstioCertificateAuthority ${this.name}: cluster ${JSON.stringify(c)} has no intermediate CA; ` +
            `add it to workloadClusters (${JSON.stringify(Object.keys(this.intermediates))})`,
          this,
        );
      }
      if (this.cacerts[c] !== undefined) {
        throw new pulumi.ResourceError(
          `IstioCertificateAuthority ${this.name}: cacerts for cluster ${JSON.stringify(c)} already installed; install each cluster once`,
          this,
        );
      }
      if (cluster.spec.network === "") {
        throw new pulumi.ResourceError(
          `IstioCertificateAuthority ${this.name}: cluster ${JSON.stringify(c)} has no network; a workload cluster needs its own Istio network`,
          this,
        );
      }
      // In-cluster objects vanish with the VM: a destroy must not wait on an API server already gone.
      const inCluster = { parent: this, provider: cluster.provider, deletedWith: cluster.vm.launch };
      // Istio's base chart templates this namespace too (same label; Argo CD applies it client-side later).
      // A Patch upserts it early and shares it: it creates or adopts the namespace and, when deleted,
      // gives up its fields instead of deleting a namespace full of Argo CD-managed objects.
      const namespace = new k8s.core.v1.NamespacePatch(
        `${this.name}-${c}-istio-system`,
        {
          metadata: {
            name: istioNamespace,
            labels: { "topology.istio.io/network": cluster.spec.network },
            // The lab's config decides the network: win over another manager's older value.
            annotations: { "pulumi.com/patchForce": "true" },
          },
        },
        inCluster,
      );
      const secret = new k8s.core.v1.Secret(
        `${this.name}-${c}-cacerts`,
        {
          metadata: {
            name: cacertsSecretName,
            namespace: namespace.metadata.apply((m) => m.name ?? istioNamespace),
          },
          type: "Opaque",
          data: pulumi
            .secret(pulumi.all([ca.certPem, ca.keyPem, this.rootCertPem, ca.chainPem]))
            .apply(([caCert, caKey, rootCert, certChain]) =>
              cacertsData({ caCert, caKey, rootCert, certChain }),
            ),
        },
        inCluster,
      );
      this.cacerts[c] = secret;
      installed[c] = secret;
    }
    return installed;
  }
}
