// Proves the multi-primary endpoint discovery: the remote secrets `istioctl create-remote-secret` would make,
// one per ordered pair of workload clusters, in the reading cluster, with the remote's reader token.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime/mocks";
import * as yaml from "js-yaml";
import { EndpointDiscovery, remoteKubeconfig } from "../components/endpoint-discovery";
import type { ClusterRef } from "../components/types";
import { clusterSpec, fakeCluster, runComponents } from "./fakes";
import { find, type LabRun, ofType, providerOf } from "./harness";
import { defaultMockOutputs } from "./mock-outputs";

// Token Secrets answer with a token naming their cluster (the provider's name), to tell whose token is used.
function tokensByCluster(args: MockResourceArgs): Record<string, unknown> | undefined {
  if (
    args.type !== "kubernetes:core/v1:Secret" ||
    args.inputs.type !== "kubernetes.io/service-account-token"
  ) {
    return undefined;
  }
  const cluster = /::(kube-\d+)-k8s::/.exec(args.provider ?? "")?.[1];
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return { data: { token: b64(`reader-token-of-${cluster}`), "ca.crt": b64(`CA PEM of ${cluster}`) } };
}

/** A recorded input value with Pulumi's secret wrapper (`{ <sig>: <secret sig>, value }`) removed. */
function unwrapSecret(v: any): any {
  return v && typeof v === "object" && "value" in v && Object.keys(v).length === 2 ? v.value : v;
}

async function discovery(names: string[]): Promise<LabRun> {
  return runComponents(
    () => {
      const clusters = names.map((n, i) => {
        const cluster = fakeCluster(clusterSpec(n, "workload", `network${i + 1}`), 3 + i);
        const istioBase = new command.local.Command(`${n}-istio-base-stand-in`, { create: "true" });
        return { cluster, istioBase };
      });
      new EndpointDiscovery("endpoint-discovery", { clusters });
    },
    false,
    (args) => tokensByCluster(args) ?? defaultMockOutputs(args),
  );
}

describe("EndpointDiscovery", () => {
  test("two clusters: each holds istio-remote-secret-<other> exactly as create-remote-secret makes it", async () => {
    const run = await discovery(["kube-01", "kube-02"]);
    const secrets = ofType(run, "kubernetes:core/v1:Secret").filter((s) => s.inputs.type === undefined);
    assert.deepEqual(secrets.map((s) => s.name).sort(), [
      "endpoint-discovery-kube-01-reads-kube-02",
      "endpoint-discovery-kube-02-reads-kube-01",
    ]);
    for (const [reader, remote, remoteIp] of [
      ["kube-01", "kube-02", "192.168.64.4"],
      ["kube-02", "kube-01", "192.168.64.3"],
    ]) {
      const s = find(run, "kubernetes:core/v1:Secret", `endpoint-discovery-${reader}-reads-${remote}`);
      assert.equal(providerOf(run, s)?.name, `${reader}-k8s`, "created in the reading cluster");
      assert.equal(s.deletedWith, find(run, "command:local:Command", `${reader}-launch`).urn);
      assert.ok(
        s.dependencies.includes(find(run, "command:local:Command", `${reader}-istio-base-stand-in`).urn),
      );
      assert.deepEqual(s.inputs.metadata, {
        name: `istio-remote-secret-${remote}`,
        namespace: "istio-system",
        labels: { "istio/multiCluster": "true" },
        annotations: { "networking.istio.io/cluster": remote },
      });
      assert.deepEqual(s.secretInputPaths, ["stringData"], "the kubeconfig (a bearer token) is secret");
      const stringData = unwrapSecret(s.inputs.stringData);
      assert.deepEqual(Object.keys(stringData), [remote]);
      const kc = yaml.load(unwrapSecret(stringData[remote])) as any;
      assert.deepEqual(kc, {
        apiVersion: "v1",
        clusters: [
          {
            cluster: {
              "certificate-authority-data": Buffer.from(`CA PEM of ${remote}`).toString("base64"),
              server: `https://${remoteIp}:6443`,
            },
            name: remote,
          },
        ],
        contexts: [{ context: { cluster: remote, user: remote }, name: remote }],
        "current-context": remote,
        kind: "Config",
        preferences: {},
        users: [{ name: remote, user: { token: `reader-token-of-${remote}` } }],
      });
    }
  });

  test("the reader tokens: one long-lived token Secret per cluster, named as istioctl 1.16 names it", async () => {
    const run = await discovery(["kube-01", "kube-02"]);
    for (const c of ["kube-01", "kube-02"]) {
      const t = find(run, "kubernetes:core/v1:Secret", `endpoint-discovery-${c}-reader-secret`);
      assert.equal(providerOf(run, t)?.name, `${c}-k8s`);
      assert.equal(t.inputs.type, "kubernetes.io/service-account-token");
      assert.equal(t.inputs.metadata.name, "istio-reader-service-account-istio-remote-secret-token");
      assert.equal(t.inputs.metadata.namespace, "istio-system");
      assert.equal(
        t.inputs.metadata.annotations["kubernetes.io/service-account.name"],
        "istio-reader-service-account",
      );
      // The account comes from istio-base: no ServiceAccount is created, the token waits for that app.
      assert.ok(t.dependencies.includes(find(run, "command:local:Command", `${c}-istio-base-stand-in`).urn));
      // No input of the token Secret varies between runs, so `up` never re-mints it.
      assert.equal(t.inputs.data, undefined);
    }
    assert.equal(ofType(run, "kubernetes:core/v1:ServiceAccount").length, 0);
  });

  test("three clusters yield six remote secrets, one per ordered pair", async () => {
    const run = await discovery(["kube-01", "kube-02", "kube-03"]);
    const pairs = ofType(run, "kubernetes:core/v1:Secret")
      .filter((s) => s.inputs.type === undefined)
      .map((s) => `${providerOf(run, s)?.name.replace("-k8s", "")} holds ${s.inputs.metadata.name}`)
      .sort();
    assert.deepEqual(pairs, [
      "kube-01 holds istio-remote-secret-kube-02",
      "kube-01 holds istio-remote-secret-kube-03",
      "kube-02 holds istio-remote-secret-kube-01",
      "kube-02 holds istio-remote-secret-kube-03",
      "kube-03 holds istio-remote-secret-kube-01",
      "kube-03 holds istio-remote-secret-kube-02",
    ]);
    assert.equal(
      ofType(run, "kubernetes:core/v1:Secret").filter((s) => s.inputs.type !== undefined).length,
      3,
    );
  });

  test("one workload cluster reads nobody: no secrets, no tokens", async () => {
    const run = await discovery(["kube-01"]);
    assert.equal(ofType(run, "kubernetes:core/v1:Secret").length, 0);
  });

  test("a cluster passed twice is refused, before anything is registered", () => {
    const twice = ["kube-01", "kube-01"].map((n) => ({
      cluster: { spec: clusterSpec(n, "workload", "network1") } as ClusterRef,
      istioBase: {} as pulumi.Resource,
    }));
    assert.throws(() => new EndpointDiscovery("endpoint-discovery", { clusters: twice }), {
      message:
        "EndpointDiscovery endpoint-discovery: clusters lists kube-01 more than once; pass each workload cluster once",
    });
  });

  test("remoteKubeconfig refuses an empty field (an empty token would silently make a useless secret)", () => {
    assert.throws(
      () => remoteKubeconfig({ clusterName: "kube-02", server: "https://x:6443", caData: "Q0E=", token: "" }),
      {
        message: "remoteKubeconfig: token is empty; a remote secret needs all of its fields",
      },
    );
  });
});
