// Proves the GitOps layer against fake clusters: Argo CD and every Argo CD object on the management cluster,
// argocd-manager in each workload cluster, objects Argo CD accepts (validated with @kubernetes-models/argo-cd),
// pinned sources, per-cluster values, the base→cni→pilot→igws→ewgw→httpbin chains, secrets kept secret.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as yaml from "js-yaml";
import {
  ArgoCd,
  adminPasswordMtime,
  argoCdValues,
  argoHelmRepo,
  clusterSecretData,
} from "../components/argocd";
import { ArgoApplication, validateSource } from "../components/argocd-application";
import { IstioDeployment, istioParts } from "../components/istio-deployment";
import type { ClusterRef } from "../components/types";
import { defaults } from "../config";
import { clusterSpec, fakeCluster, runComponents } from "./fakes";
import {
  dependsOn,
  find,
  isSecret,
  type LabRun,
  ofType,
  outputValue,
  plain,
  providerOf,
  type Registration,
} from "./harness";

const s = defaults.scalars;
const istioCharts = { repoUrl: s.istioChartsRepo, commit: s.istioChartsCommit };
const httpbin = { repoUrl: s.httpbinRepo, commit: s.httpbinCommit };
const appType = "kubernetes:argoproj.io/v1alpha1:Application";

/** The GitOps part of index.ts, on fake clusters: 1 management + `n` workload clusters. */
function gitops(n: number, cliContext = false) {
  return () => {
    const mgmt = fakeCluster(clusterSpec("kube-00", "management"), 10);
    const workloads: ClusterRef[] = [];
    for (let i = 1; i <= n; i++) {
      workloads.push(fakeCluster(clusterSpec(`kube-0${i}`, "workload", `network${i}`), 10 + i));
    }
    const argocd = new ArgoCd("argocd", {
      cluster: mgmt,
      workloadClusters: workloads,
      chartVersion: "5.42.3",
      cliContext,
    });
    for (const c of workloads) {
      const cacerts = new k8s.core.v1.Secret(`${c.spec.name}-cacerts`, {}, { provider: c.provider });
      const istio = new IstioDeployment(`${c.spec.name}-istio`, {
        argocd,
        cluster: c,
        charts: istioCharts,
        meshId: "mesh1",
        revision: "1-16-2",
        cacerts,
        timeoutSeconds: 1200,
      });
      new ArgoApplication(`${c.spec.name}-httpbin`, {
        argocd,
        cluster: c,
        appName: `${c.spec.name}-httpbin`,
        project: "httpbin",
        source: { ...httpbin, path: "." },
        namespace: "httpbin",
        timeoutSeconds: 1200,
        after: [istio.ready],
      });
    }
  };
}

/** Runs a kubernetes-models object's JSON-schema validation (its typings do not show `validate`). */
const validated = (model: unknown) => (model as { validate(): void }).validate();

const app = (run: LabRun, name: string): Registration => {
  const hits = ofType(run, appType).filter((r) => r.inputs.metadata.name === name);
  assert.equal(hits.length, 1, `one Application named ${name}`);
  return hits[0];
};

describe("Argo CD on the management cluster", () => {
  test("the argo-cd chart, pinned, from argo-helm, server as LoadBalancer, admin password by bcrypt hash (secret)", async () => {
    const run = await runComponents(gitops(2));
    const release = find(run, "kubernetes:helm.sh/v3:Release", "argocd-release");
    assert.equal(providerOf(run, release)?.name, "kube-00-k8s");
    assert.deepEqual(
      [release.inputs.name, release.inputs.chart, release.inputs.version, release.inputs.namespace],
      ["argocd", "argo-cd", "5.42.3", "argocd"],
    );
    assert.deepEqual(release.inputs.repositoryOpts, { repo: argoHelmRepo });
    assert.equal(release.inputs.createNamespace, true);
    const values = plain(release.inputs.values);
    assert.equal(values.server.service.type, "LoadBalancer");
    assert.deepEqual(values.configs.secret, {
      argocdServerAdminPassword: "$2a$10$mock-bcrypt-of-argocd-admin-password",
      argocdServerAdminPasswordMtime: adminPasswordMtime,
    });
    assert.ok(release.secretInputPaths.includes("values"), `values secret: ${release.secretInputPaths}`);
    const pw = find(run, "random:index/randomPassword:RandomPassword", "argocd-admin-password");
    assert.equal(pw.inputs.length, 24);
  });

  test("the admin password output is secret", async () => {
    let argocd: ArgoCd | undefined;
    await runComponents(() => {
      const mgmt = fakeCluster(clusterSpec("kube-00", "management"), 10);
      argocd = new ArgoCd("argocd", { cluster: mgmt, workloadClusters: [], chartVersion: "5.42.3" });
    });
    const a = argocd as ArgoCd;
    assert.equal(await outputValue(a.password), "mock-password-of-argocd-admin-password");
    assert.equal(await isSecret(a.password), true);
    assert.equal(await outputValue(a.url), "https://192.168.64.10");
    assert.equal(a.username, "admin");
  });

  test("chart values: the hash and a fixed mtime, and Istio's webhook caBundle/failurePolicy ignored system-wide", () => {
    const v = argoCdValues("$2a$10$hash");
    assert.deepEqual(v.configs.secret, {
      argocdServerAdminPassword: "$2a$10$hash",
      argocdServerAdminPasswordMtime: "2023-01-01T00:00:00Z",
    });
    for (const kind of ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]) {
      const key = `resource.customizations.ignoreDifferences.admissionregistration.k8s.io_${kind}`;
      assert.deepEqual(yaml.load((v.configs.cm as Record<string, string>)[key]), {
        jqPathExpressions: [".webhooks[]?.clientConfig.caBundle", ".webhooks[]?.failurePolicy"],
      });
    }
  });

  test("workload clusters registered declaratively: argocd-manager (cluster-admin) in each, a cluster Secret in argocd", async () => {
    const run = await runComponents(gitops(2));
    const release = find(run, "kubernetes:helm.sh/v3:Release", "argocd-release");
    for (const [i, name] of ["kube-01", "kube-02"].entries()) {
      const sa = find(run, "kubernetes:core/v1:ServiceAccount", `argocd-${name}-manager-sa`);
      const binding = find(
        run,
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        `argocd-${name}-manager-binding`,
      );
      const token = find(run, "kubernetes:core/v1:Secret", `argocd-${name}-manager-secret`);
      for (const r of [sa, binding, token]) assert.equal(providerOf(run, r)?.name, `${name}-k8s`);
      assert.deepEqual(sa.inputs.metadata, { name: "argocd-manager", namespace: "kube-system" });
      assert.deepEqual(binding.inputs.roleRef, {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "cluster-admin",
      });
      assert.deepEqual(binding.inputs.subjects, [
        { kind: "ServiceAccount", name: "argocd-manager", namespace: "kube-system" },
      ]);

      const secret = find(run, "kubernetes:core/v1:Secret", `argocd-cluster-${name}`);
      assert.equal(providerOf(run, secret)?.name, "kube-00-k8s");
      assert.deepEqual(secret.inputs.metadata, {
        name,
        namespace: "argocd",
        labels: {
          "argocd.argoproj.io/secret-type": "cluster",
          "topology.istio.io/network": `network${i + 1}`,
        },
      });
      assert.ok(secret.secretInputPaths.includes("stringData"), "the bearer token is sent as a secret");
      const { stringData } = plain(secret.inputs);
      assert.equal(stringData.name, name);
      assert.equal(stringData.server, `https://192.168.64.${11 + i}:6443`);
      const config = JSON.parse(stringData.config);
      assert.deepEqual(config, {
        bearerToken: "token-of-kube-system/argocd-manager-token",
        tlsClientConfig: { insecure: false, caData: config.tlsClientConfig.caData },
      });
      assert.match(
        Buffer.from(config.tlsClientConfig.caData, "base64").toString(),
        /^-----BEGIN CERTIFICATE-----\n/,
        "caData is base64 of a PEM",
      );
      assert.ok(dependsOn(run, secret, release), "the Secret goes in once the argocd namespace exists");
    }
  });

  test("clusterSecretData is what Argo CD reads: name, server, config JSON with bearerToken and caData", () => {
    assert.deepEqual(
      clusterSecretData({
        name: "kube-01",
        server: "https://10.0.0.1:6443",
        bearerToken: "t",
        caData: "Yw==",
      }),
      {
        name: "kube-01",
        server: "https://10.0.0.1:6443",
        config: '{"bearerToken":"t","tlsClientConfig":{"insecure":false,"caData":"Yw=="}}',
      },
    );
  });

  test("every Argo CD object validates against @kubernetes-models/argo-cd and goes through the management provider", async () => {
    const { Application, AppProject } = await import("@kubernetes-models/argo-cd/argoproj.io/v1alpha1");
    const run = await runComponents(gitops(2));
    const projects = ofType(run, "kubernetes:argoproj.io/v1alpha1:AppProject");
    const apps = ofType(run, appType);
    assert.deepEqual(projects.map((p) => p.inputs.metadata.name).sort(), ["httpbin", "istio"]);
    assert.equal(apps.length, 12);
    for (const r of projects) {
      assert.deepEqual(r.inputs.spec, {
        clusterResourceWhitelist: [{ group: "*", kind: "*" }],
        destinations: [{ namespace: "*", server: "*" }],
        sourceRepos: ["*"],
      });
      validated(new AppProject(r.inputs as ConstructorParameters<typeof AppProject>[0]));
    }
    for (const r of apps) {
      assert.equal(providerOf(run, r)?.name, "kube-00-k8s", r.name);
      validated(new Application(r.inputs as ConstructorParameters<typeof Application>[0]));
      assert.equal(r.inputs.metadata.namespace, "argocd");
      assert.deepEqual(JSON.parse(r.inputs.metadata.annotations["pulumi.com/waitFor"]), [
        "jsonpath={.status.sync.status}=Synced",
        "jsonpath={.status.health.status}=Healthy",
      ]);
      assert.deepEqual(r.customTimeouts, { create: "1200s", update: "1200s", delete: "" });
      assert.deepEqual(r.inputs.spec.syncPolicy.automated, { prune: true, selfHeal: true });
      assert.equal(r.inputs.spec.syncPolicy.retry.limit, 10);
      // Pinned: never a branch, a tag or HEAD.
      assert.match(r.inputs.spec.source.targetRevision, /^[0-9a-f]{40}$/);
    }
  });

  test("Istio apps: the pinned charts, per-cluster values in helm.values, pilot's ignores", async () => {
    const run = await runComponents(gitops(2));
    for (const [i, c] of ["kube-01", "kube-02"].entries()) {
      for (const part of istioParts) {
        const spec = app(run, `${c}-istio-${part}`).inputs.spec;
        assert.deepEqual(spec.source, {
          repoURL: "https://github.com/h0tbird/istio.git",
          targetRevision: "0d58ab0e4dd21ef8b3e1973b675a70a8fc898014",
          path: `charts/${part}`,
          helm: {
            values: `cluster: ${c}\ndomain: cluster.local\nmesh: mesh1\nnetwork: network${i + 1}\nrevision: 1-16-2\n`,
          },
        });
        assert.deepEqual(spec.destination, {
          server: `https://192.168.64.${11 + i}:6443`,
          namespace: "istio-system",
        });
        assert.equal(spec.project, "istio");
      }
      const pilot = app(run, `${c}-istio-pilot`).inputs.spec;
      assert.deepEqual(pilot.ignoreDifferences, [
        { group: "*", kind: "*", managedFieldsManagers: ["pilot-discovery"] },
        ...["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"].map((kind) => ({
          group: "admissionregistration.k8s.io",
          kind,
          jqPathExpressions: [".webhooks[]?.clientConfig.caBundle", ".webhooks[]?.failurePolicy"],
        })),
      ]);
      assert.deepEqual(pilot.syncPolicy.syncOptions, ["RespectIgnoreDifferences=true"]);
      const hb = app(run, `${c}-httpbin`).inputs.spec;
      assert.deepEqual(hb.source, {
        repoURL: "https://github.com/h0tbird/httpbin.git",
        targetRevision: "c76645ba58eaf02a7cbe6b9e622bb34eb59c9ce0",
        path: ".",
      });
      assert.deepEqual(hb.destination, { server: `https://192.168.64.${11 + i}:6443`, namespace: "httpbin" });
      assert.equal(hb.project, "httpbin");
    }
  });

  test("order: per cluster base→cni→pilot→igws→ewgw→httpbin, cacerts before pilot, registration first, clusters independent", async () => {
    const run = await runComponents(gitops(2));
    const chain = (c: string) => [
      ...istioParts.map((p) => app(run, `${c}-istio-${p}`)),
      app(run, `${c}-httpbin`),
    ];
    for (const c of ["kube-01", "kube-02"]) {
      const apps = chain(c);
      for (let i = 1; i < apps.length; i++) {
        assert.ok(
          dependsOn(run, apps[i], apps[i - 1]),
          `${apps[i].inputs.metadata.name} after ${apps[i - 1].inputs.metadata.name}`,
        );
        assert.ok(!dependsOn(run, apps[i - 1], apps[i]));
      }
      const cacerts = find(run, "kubernetes:core/v1:Secret", `${c}-cacerts`);
      assert.ok(dependsOn(run, app(run, `${c}-istio-pilot`), cacerts), "pilot waits for cacerts");
      assert.ok(!dependsOn(run, app(run, `${c}-istio-cni`), cacerts), "only pilot needs cacerts");
      const base = app(run, `${c}-istio-base`);
      assert.ok(dependsOn(run, base, find(run, "kubernetes:core/v1:Secret", `argocd-cluster-${c}`)));
      assert.ok(
        dependsOn(run, base, find(run, "kubernetes:argoproj.io/v1alpha1:AppProject", "argocd-project-istio")),
      );
      assert.ok(dependsOn(run, base, find(run, "kubernetes:helm.sh/v3:Release", "argocd-release")));
    }
    for (const a of chain("kube-01")) {
      for (const b of chain("kube-02")) {
        assert.ok(
          !dependsOn(run, a, b) && !dependsOn(run, b, a),
          `${a.inputs.metadata.name} independent of ${b.inputs.metadata.name}`,
        );
      }
    }
  });

  test("a 5-workload-cluster topology yields 5 × 6 Applications, correctly named", async () => {
    const run = await runComponents(gitops(5));
    const names = ofType(run, appType)
      .map((r) => r.inputs.metadata.name)
      .sort();
    const expected = [1, 2, 3, 4, 5]
      .flatMap((i) => [...istioParts.map((p) => `kube-0${i}-istio-${p}`), `kube-0${i}-httpbin`])
      .sort();
    assert.deepEqual(names, expected);
    assert.equal(ofType(run, "kubernetes:core/v1:ServiceAccount").length, 5);
    assert.equal(
      app(run, "kube-05-istio-ewgw").inputs.spec.source.helm.values.includes("network: network5\n"),
      true,
    );
  });

  test("previews with every cluster value unknown", async () => {
    const run = await runComponents(gitops(2), true);
    assert.equal(ofType(run, appType).length, 12);
    assert.ok(
      app(run, "kube-01-istio-base").unknownInputPaths.includes("spec"),
      "destination unknown in preview",
    );
  });

  test("bad arguments fail before anything is registered, naming the input", async () => {
    assert.equal(
      validateSource({ repoUrl: "https://github.com/h0tbird/istio.git", commit: "HEAD", path: "." }),
      'source.commit is "HEAD": expected a full 40-character commit SHA (a branch, tag or HEAD would float)',
    );
    await runComponents(() => {
      const w = fakeCluster(clusterSpec("kube-01", "workload", "network1"), 11);
      assert.throws(
        () => new ArgoCd("argocd", { cluster: w, workloadClusters: [], chartVersion: "5.42.3" }),
        {
          message: "ArgoCd argocd: cluster is kube-01 (role workload): expected the management cluster",
        },
      );
    });
  });
});
