// Proves the GitOps wiring of the whole program (index.ts under mocks): Argo CD objects on the management
// cluster's provider, argocd-manager on each workload cluster's, cacerts before pilot, the `argocd` stack
// output, a larger topology, and a preview with every kubeconfig unknown.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { istioParts } from "../components/istio-deployment";
import { dependsOn, find, type LabRun, ofType, plain, providerOf, runLab } from "./harness";

const appType = "kubernetes:argoproj.io/v1alpha1:Application";
const argoTypes = [appType, "kubernetes:argoproj.io/v1alpha1:AppProject", "kubernetes:helm.sh/v3:Release"];

/** The provider registration's name of every resource of `type` whose own name matches. */
function providersOf(run: LabRun, type: string, match: (name: string) => boolean) {
  return ofType(run, type)
    .filter((r) => match(r.name))
    .map((r) => [r.name, providerOf(run, r)?.name]);
}

describe("GitOps in the lab program", () => {
  test("Argo CD objects go through kube-00's provider; argocd-manager through each workload cluster's", async () => {
    const run = await runLab();
    const mgmtProvider = providerOf(run, find(run, "kubernetes:helm.sh/v3:Release", "argocd-release"))?.name;
    assert.ok(mgmtProvider, "the release has an explicit provider");
    for (const type of argoTypes) {
      for (const r of ofType(run, type))
        assert.equal(providerOf(run, r)?.name, mgmtProvider, `${type} ${r.name}`);
    }
    for (const c of ["kube-01", "kube-02"]) {
      assert.equal(
        providerOf(run, find(run, "kubernetes:core/v1:Secret", `argocd-cluster-${c}`))?.name,
        mgmtProvider,
      );
      const sa = find(run, "kubernetes:core/v1:ServiceAccount", `argocd-${c}-manager-sa`);
      const cacerts = ofType(run, "kubernetes:core/v1:Secret").filter(
        (r) =>
          r.inputs.metadata?.name === "cacerts" && providerOf(run, r)?.name === providerOf(run, sa)?.name,
      );
      assert.notEqual(providerOf(run, sa)?.name, mgmtProvider);
      assert.equal(cacerts.length, 1, `one cacerts in ${c}, through the same provider as its argocd-manager`);
      const app = (part: string) =>
        ofType(run, appType).find((r) => r.inputs.metadata.name === `${c}-istio-${part}`) ??
        assert.fail(part);
      assert.ok(dependsOn(run, app("pilot"), cacerts[0]), `${c}: cacerts exists before pilot`);
    }
    assert.deepEqual(
      providersOf(run, "kubernetes:core/v1:ServiceAccount", (n) => n.endsWith("-manager-sa")).length,
      2,
    );
  });

  test("stack output argocd: https on the management VM's IP, admin, the password, the app names (its secrecy: argocd.test.ts)", async () => {
    const run = await runLab();
    const mgmtIp = run.outputs.clusters.find((c: { name: string }) => c.name === "kube-00").ip;
    const argocd = plain(run.outputs.argocd);
    assert.equal(argocd.url, `https://${mgmtIp}`);
    assert.equal(argocd.username, "admin");
    assert.equal(argocd.password, "mock-password-of-argocd-admin-password");
    assert.deepEqual(argocd.applications, [
      ...["kube-01", "kube-02"].flatMap((c) => istioParts.map((p) => `${c}-istio-${p}`)),
      "kube-01-httpbin",
      "kube-02-httpbin",
    ]);
  });

  test("5 workload clusters: 5 × 6 Applications with the expected names and networks", async () => {
    const clusters = [
      { name: "mgmt", role: "management" },
      ...[1, 2, 3, 4, 5].map((i) => ({ name: `west-${i}`, role: "workload", network: `net-${i}` })),
    ];
    const run = await runLab({ config: { clusters, meshVms: [{ name: "vm-a", cluster: "west-1" }] } });
    const names = ofType(run, appType).map((r) => r.inputs.metadata.name);
    assert.equal(names.length, 30);
    assert.deepEqual(
      [...names].sort(),
      [1, 2, 3, 4, 5]
        .flatMap((i) => [...istioParts.map((p) => `west-${i}-istio-${p}`), `west-${i}-httpbin`])
        .sort(),
    );
    const secret = find(run, "kubernetes:core/v1:Secret", "argocd-cluster-west-4");
    assert.equal(secret.inputs.metadata.labels["topology.istio.io/network"], "net-4");
  });

  test("previews with every kubeconfig unknown", async () => {
    const run = await runLab({ preview: true });
    assert.equal(ofType(run, appType).length, 12);
    assert.ok(find(run, "kubernetes:helm.sh/v3:Release", "argocd-release"));
  });
});
