// Proves the ServiceAccountToken component: a service account (or a pre-existing one) with a long-lived
// token Secret, read back as secret outputs, through the cluster's own provider.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import { ServiceAccountToken, tokenSecretField } from "../components/service-account-token";
import { clusterSpec, fakeCluster, runComponents } from "./fakes";
import { find, isSecret, outputValue, providerOf } from "./harness";
import { mockClusterCaPem } from "./mock-outputs";

describe("ServiceAccountToken", () => {
  test("creates the SA, then a service-account-token Secret annotated with its name, waiting for .data.token", async () => {
    let sat: ServiceAccountToken | undefined;
    const run = await runComponents(() => {
      const cluster = fakeCluster(clusterSpec("kube-01", "workload", "network1"), 11);
      sat = new ServiceAccountToken("kube-01-argocd-manager", {
        cluster,
        namespace: "kube-system",
        serviceAccountName: "argocd-manager",
      });
    });
    const sa = find(run, "kubernetes:core/v1:ServiceAccount", "kube-01-argocd-manager-sa");
    const secret = find(run, "kubernetes:core/v1:Secret", "kube-01-argocd-manager-secret");
    assert.deepEqual(sa.inputs.metadata, { name: "argocd-manager", namespace: "kube-system" });
    assert.equal(secret.inputs.type, "kubernetes.io/service-account-token");
    assert.deepEqual(secret.inputs.metadata, {
      name: "argocd-manager-token",
      namespace: "kube-system",
      annotations: {
        "kubernetes.io/service-account.name": "argocd-manager",
        "pulumi.com/waitFor": "jsonpath={.data.token}",
      },
    });
    // The Secret has no data of its own: the token controller fills it, so no input ever changes the token.
    assert.equal(secret.inputs.data, undefined);
    assert.equal(secret.inputs.stringData, undefined);
    assert.ok(secret.dependencies.includes(sa.urn), "the Secret is created after the SA (data edge)");
    assert.deepEqual(secret.customTimeouts, { create: "300s", update: "300s", delete: "" });
    // Both go through the workload cluster's provider and are deleted with its VM.
    for (const r of [sa, secret]) {
      assert.equal(providerOf(run, r)?.name, "kube-01-k8s");
      assert.equal(find(run, "command:local:Command", "kube-01-launch").urn, r.deletedWith);
    }
    const s = sat as ServiceAccountToken;
    assert.equal(await outputValue(s.token), "token-of-kube-system/argocd-manager-token");
    assert.equal(await outputValue(s.caCertPem), mockClusterCaPem);
    assert.equal(await outputValue(s.caData), Buffer.from(mockClusterCaPem).toString("base64"));
    assert.equal(await outputValue(s.serviceAccountName), "argocd-manager");
    for (const o of [s.token, s.caCertPem, s.caData]) assert.equal(await isSecret(o), true);
  });

  test("refers to a pre-existing SA: no SA created, the Secret waits for what creates it", async () => {
    let sat: ServiceAccountToken | undefined;
    const run = await runComponents(() => {
      const cluster = fakeCluster(clusterSpec("kube-02", "workload", "network2"), 12);
      const chart = new k8s.core.v1.ConfigMap("istio-base-stand-in", {}, { provider: cluster.provider });
      sat = new ServiceAccountToken("kube-02-reader", {
        cluster,
        namespace: "istio-system",
        serviceAccountName: "istio-reader-service-account",
        createServiceAccount: false,
        serviceAccountCreatedBy: [chart],
        secretName: "istio-reader-service-account-istio-remote-secret-token",
        timeoutSeconds: 60,
      });
    });
    assert.equal(run.registrations.filter((r) => r.type === "kubernetes:core/v1:ServiceAccount").length, 0);
    const secret = find(run, "kubernetes:core/v1:Secret", "kube-02-reader-secret");
    assert.equal(secret.inputs.metadata.name, "istio-reader-service-account-istio-remote-secret-token");
    assert.equal(
      secret.inputs.metadata.annotations["kubernetes.io/service-account.name"],
      "istio-reader-service-account",
    );
    assert.ok(
      secret.dependencies.includes(find(run, "kubernetes:core/v1:ConfigMap", "istio-base-stand-in").urn),
    );
    assert.equal(secret.customTimeouts?.create, "60s");
    assert.equal(
      await outputValue((sat as ServiceAccountToken).token),
      "token-of-istio-system/istio-reader-service-account-istio-remote-secret-token",
    );
  });

  test("in preview (cluster unknown) the token is unknown, and nothing fails", async () => {
    let sat: ServiceAccountToken | undefined;
    await runComponents(() => {
      sat = new ServiceAccountToken("p", {
        cluster: fakeCluster(clusterSpec("kube-01", "workload", "network1"), 11),
        namespace: "kube-system",
        serviceAccountName: "argocd-manager",
      });
    }, true);
    assert.equal(await outputValue((sat as ServiceAccountToken).token), undefined);
  });

  test("rejects a bad service account name, naming it", async () => {
    await runComponents(() => {
      const cluster = fakeCluster(clusterSpec("kube-01", "workload", "network1"), 11);
      assert.throws(
        () =>
          new ServiceAccountToken("bad", {
            cluster,
            namespace: "kube-system",
            serviceAccountName: "Argo_CD",
          }),
        {
          message:
            'ServiceAccountToken bad: serviceAccountName is "Argo_CD": expected a DNS-1123 subdomain such as argocd-manager',
        },
      );
    });
  });

  test("fails clearly, naming the Secret, when the token controller left it empty", () => {
    assert.throws(() => tokenSecretField({}, "token", "kube-system/argocd-manager-token", "argocd-manager"), {
      message:
        "Secret kube-system/argocd-manager-token has no token: the token controller did not fill it (does service account argocd-manager exist?)",
    });
    assert.equal(tokenSecretField({ token: "dA==" }, "token", "a/b", "c"), "dA==");
  });
});
