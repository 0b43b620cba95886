// The debug toggles (config debugTlsKeyLog, debugPilotImage, debugProxyImage, debugLocality): each one, on,
// adds or changes exactly the resources its README recipe needs, with exact inputs, through the right cluster's
// provider; off (the default), none of them exists, so switching a toggle off deletes what it added.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { fieldManagers, tlsKeyLogEnvoyFilter } from "../components/debug-toggles";
import { pilotIgnoreDifferences, pilotImageIgnoreDifference } from "../components/istio-deployment";
import { bash, script } from "../components/shell";
import { parseLabConfig } from "../config";
import { dependsOn, find, type LabRun, providerOf, type Registration, runLab } from "./harness";
import { mockVmIp } from "./mock-outputs";
import { requireTool, shellcheck } from "./validators";

const CMD = "command:local:Command";
const PATCH = "kubernetes:apps/v1:DeploymentPatch";
// The mesh check runs on every `up` (a new trigger each time): off in both runs, so only the toggles differ.
const base = { meshCheckEnabled: false };

/** What a run registers beyond / instead of the baseline: added, removed, and changed (inputs) `type::name`. */
function delta(off: LabRun, on: LabRun) {
  const key = (r: Registration) => `${r.type}::${r.name}`;
  const a = new Map(off.registrations.map((r) => [key(r), r]));
  const b = new Map(on.registrations.map((r) => [key(r), r]));
  return {
    added: [...b.keys()].filter((k) => !a.has(k)).sort(),
    removed: [...a.keys()].filter((k) => !b.has(k)).sort(),
    changed: [...b.keys()]
      .filter((k) => a.has(k) && JSON.stringify(a.get(k)?.inputs) !== JSON.stringify(b.get(k)?.inputs))
      .sort(),
  };
}

const provider = (run: LabRun, r: Registration) => providerOf(run, r)?.name;

const sleepPatch = (fieldManager: string, template: Record<string, unknown>) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    name: "sleep",
    namespace: "httpbin",
    annotations: { "pulumi.com/patchFieldManager": fieldManager },
  },
  spec: { template: { metadata: template } },
});

describe("debug toggles (under mocks)", () => {
  let off: LabRun;
  before(async () => {
    off = await runLab({ config: base });
  });

  it("the configuration: off by default; a workload parsed into cluster, namespace and deployment", () => {
    assert.deepEqual(parseLabConfig({}).debug, { pilotImage: "", proxyImage: "", locality: false });
    assert.deepEqual(
      parseLabConfig({ debugTlsKeyLog: "kube-02/httpbin/sleep", debugLocality: "true" }).debug,
      {
        tlsKeyLog: { cluster: "kube-02", namespace: "httpbin", deployment: "sleep" },
        pilotImage: "",
        proxyImage: "",
        locality: true,
      },
    );
    assert.equal(new Set(Object.values(fieldManagers)).size, 3, "each patch has its own field manager");
  });

  it("TLS key logging (kube-02/httpbin/sleep): the pod-template annotations and the EnvoyFilter, in kube-02 only", async () => {
    const on = await runLab({ config: { ...base, debugTlsKeyLog: "kube-02/httpbin/sleep" } });
    const patchName = "debug-kube-02-httpbin-sleep-tls-keylog";
    const filterType = "kubernetes:networking.istio.io/v1alpha3:EnvoyFilter";
    assert.deepEqual(delta(off, on), {
      added: [`${PATCH}::${patchName}`, `${filterType}::${patchName}-filter`].sort(),
      removed: [],
      changed: [],
    });
    const patch = find(on, PATCH, patchName);
    assert.deepEqual(
      patch.inputs,
      sleepPatch("lab-debug-tls-keylog", {
        annotations: {
          "sidecar.istio.io/userVolume": '[{"name":"sniff","emptyDir":{"medium":"Memory"}}]',
          "sidecar.istio.io/userVolumeMount": '[{"name":"sniff","mountPath":"/sniff"}]',
          "proxy.istio.io/config": "proxyMetadata:\n  OUTPUT_CERTS: /sniff\n",
        },
      }),
    );
    const filter = find(on, filterType, `${patchName}-filter`);
    assert.deepEqual(filter.inputs, {
      apiVersion: "networking.istio.io/v1alpha3",
      kind: "EnvoyFilter",
      metadata: { name: "sleep-tls-keylog", namespace: "httpbin" },
      spec: {
        workloadSelector: { labels: { app: "sleep" } },
        configPatches: [
          {
            applyTo: "CLUSTER",
            match: {
              context: "SIDECAR_OUTBOUND",
              cluster: { service: "httpbin.httpbin.svc.cluster.local", portNumber: 80 },
            },
            patch: {
              operation: "MERGE",
              value: {
                transport_socket: {
                  name: "envoy.transport_sockets.tls",
                  typed_config: {
                    "@type":
                      "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                    common_tls_context: { key_log: { path: "/sniff/keylog" } },
                  },
                },
              },
            },
          },
        ],
      },
    });
    for (const r of [patch, filter]) {
      assert.equal(provider(on, r), "kube-02-provider");
      assert.equal(r.deletedWith, find(on, CMD, "kube-02-vm-launch").urn);
      // The sleep Deployment (and Istio's CRDs) exist once kube-02's httpbin is Synced and Healthy.
      assert.ok(
        dependsOn(
          on,
          r,
          find(on, "kubernetes:argoproj.io/v1alpha1:Application", "kube-02-httpbin-application"),
        ),
      );
    }
  });

  it("the EnvoyFilter is valid for @kubernetes-models/istio", async () => {
    const { EnvoyFilter } = await import("@kubernetes-models/istio/networking.istio.io/v1alpha3/EnvoyFilter");
    // The typings of the ESM-only models do not show validate() through this import: reach it as argocd.test does.
    const validate = (o: unknown) =>
      (new EnvoyFilter(o as never) as unknown as { validate(): void }).validate();
    const filter = tlsKeyLogEnvoyFilter({ namespace: "httpbin", name: "sleep" });
    assert.doesNotThrow(() => validate(filter));
    // The validator does catch a bad one.
    const bad = { ...filter, spec: { ...filter.spec, workloadSelector: { labels: "app=sleep" } } };
    assert.throws(() => validate(bad));
  });

  it("debug istiod image: pilot's Applications ignore istiod's image, then a command sets it in each workload cluster", async () => {
    const image = "docker.io/h0tbird/pilot:1.16.2";
    const on = await runLab({ config: { ...base, debugPilotImage: image } });
    const APP = "kubernetes:argoproj.io/v1alpha1:Application";
    assert.deepEqual(delta(off, on), {
      added: [`${CMD}::debug-kube-01-pilot-image`, `${CMD}::debug-kube-02-pilot-image`],
      removed: [],
      changed: [`${APP}::kube-01-istio-pilot-application`, `${APP}::kube-02-istio-pilot-application`],
    });
    for (const c of ["kube-01", "kube-02"]) {
      const [before, after] = [off, on].map((r) => find(r, APP, `${c}-istio-pilot-application`));
      // Only ignoreDifferences changes: the chart's values (no image key at the pinned commit) stay as they are.
      assert.deepEqual(
        { ...after.inputs.spec, ignoreDifferences: undefined },
        { ...before.inputs.spec, ignoreDifferences: undefined },
      );
      assert.deepEqual(before.inputs.spec.ignoreDifferences, pilotIgnoreDifferences);
      assert.deepEqual(after.inputs.spec.ignoreDifferences, [
        ...pilotIgnoreDifferences,
        {
          group: "apps",
          kind: "Deployment",
          name: "istiod-1-16-2",
          namespace: "istio-system",
          jqPathExpressions: ['.spec.template.spec.containers[] | select(.name == "discovery") | .image'],
        },
      ]);
      assert.deepEqual(after.inputs.spec.syncPolicy.syncOptions, ["RespectIgnoreDifferences=true"]);
      const cmd = find(on, CMD, `debug-${c}-pilot-image`);
      assert.deepEqual(cmd.inputs.environment, {
        CLUSTER: c,
        DEPLOYMENT: "istiod-1-16-2",
        IMAGE: image,
        ROLLOUT_TIMEOUT_SECONDS: "300",
      });
      assert.equal(cmd.inputs.create, script("istiod-image.sh"));
      assert.equal(cmd.inputs.update, script("istiod-image.sh"));
      assert.equal(cmd.inputs.delete, undefined);
      assert.deepEqual(cmd.inputs.triggers, [`${c}-vm-launch-id`]);
      assert.ok(dependsOn(on, cmd, after), "the image is set once Argo CD ignores it");
    }
    assert.deepEqual(pilotImageIgnoreDifference("1-16-2").name, "istiod-1-16-2");
  });

  it("debug sidecar image: the proxyImage annotation on sleep's pod template, in every workload cluster", async () => {
    const image = "docker.io/h0tbird/proxyv2:1.16.2";
    const on = await runLab({ config: { ...base, debugProxyImage: image } });
    assert.deepEqual(delta(off, on), {
      added: [`${PATCH}::debug-kube-01-proxy-image`, `${PATCH}::debug-kube-02-proxy-image`],
      removed: [],
      changed: [],
    });
    for (const c of ["kube-01", "kube-02"]) {
      const patch = find(on, PATCH, `debug-${c}-proxy-image`);
      assert.deepEqual(
        patch.inputs,
        sleepPatch("lab-debug-proxy-image", { annotations: { "sidecar.istio.io/proxyImage": image } }),
      );
      assert.equal(provider(on, patch), `${c}-provider`);
      assert.ok(
        dependsOn(
          on,
          patch,
          find(on, "kubernetes:argoproj.io/v1alpha1:Application", `${c}-httpbin-application`),
        ),
      );
    }
  });

  it("locality: the VM's WorkloadEntry (after its enrollment) and sleep's topology labels (subzone = cluster)", async () => {
    const on = await runLab({ config: { ...base, debugLocality: true } });
    const WE = "kubernetes:networking.istio.io/v1beta1:WorkloadEntryPatch";
    assert.deepEqual(delta(off, on), {
      added: [
        `${PATCH}::debug-kube-01-client-locality`,
        `${PATCH}::debug-kube-02-client-locality`,
        `${WE}::debug-virt-01-locality`,
      ],
      removed: [],
      changed: [],
    });
    for (const c of ["kube-01", "kube-02"]) {
      const patch = find(on, PATCH, `debug-${c}-client-locality`);
      assert.deepEqual(
        patch.inputs,
        sleepPatch("lab-debug-locality", {
          labels: {
            "topology.kubernetes.io/region": "milky-way",
            "topology.kubernetes.io/zone": "solar-system",
            "topology.istio.io/subzone": c,
          },
        }),
      );
      assert.equal(provider(on, patch), `${c}-provider`);
    }
    const entry = find(on, WE, "debug-virt-01-locality");
    assert.deepEqual(entry.inputs, {
      apiVersion: "networking.istio.io/v1beta1",
      kind: "WorkloadEntry",
      metadata: {
        name: `httpbin-${mockVmIp("virt-01")}-vm-network`,
        namespace: "httpbin",
        annotations: {
          "pulumi.com/patchFieldManager": "lab-debug-locality",
          "pulumi.com/patchForce": "true",
        },
      },
      spec: { locality: "milky-way/solar-system/virt-01" },
    });
    assert.equal(provider(on, entry), "kube-01-provider");
    assert.equal(entry.deletedWith, find(on, CMD, "kube-01-vm-launch").urn);
    assert.ok(
      dependsOn(on, entry, find(on, CMD, "virt-01-enroll")),
      "istiod creates the entry on enrollment",
    );
  });

  it("all toggles on: the union of the single toggles' resources, nothing else; off again is the baseline", async () => {
    const allOn = {
      ...base,
      debugTlsKeyLog: "kube-01/httpbin/sleep",
      debugPilotImage: "docker.io/h0tbird/pilot:1.16.2",
      debugProxyImage: "docker.io/h0tbird/proxyv2:1.16.2",
      debugLocality: true,
    };
    const all = await runLab({ config: allOn });
    const d = delta(off, all);
    assert.equal(d.added.length, 2 + 2 + 2 + 3);
    assert.ok(d.added.every((k) => k.split("::")[1].startsWith("debug-")));
    assert.equal(d.removed.length, 0);
    assert.equal(d.changed.length, 2);
    // A preview (every output unknown, e.g. the VM's address in the WorkloadEntry's name) registers the same.
    const preview = await runLab({ config: allOn, preview: true });
    assert.deepEqual(delta(all, preview).added, []);
    assert.deepEqual(delta(all, preview).removed, []);
    const again = await runLab({ config: base });
    assert.deepEqual(delta(off, again), { added: [], removed: [], changed: [] });
  });

  it("a tlsKeyLog cluster that is not a workload cluster is refused by the component too", async () => {
    const { DebugToggles } = await import("../components/debug-toggles");
    assert.throws(
      () =>
        new DebugToggles("d", {
          settings: {
            tlsKeyLog: { cluster: "kube-09", namespace: "httpbin", deployment: "sleep" },
            pilotImage: "",
            proxyImage: "",
            locality: false,
          },
          mesh: { region: "r", zone: "z" },
          workloads: [],
          meshVms: [],
          revision: "1-16-2",
        }),
      {
        message:
          'DebugToggles d: settings.tlsKeyLog.cluster is "kube-09": expected one of the workload clusters ()',
      },
    );
  });
});

describe("scripts/istiod-image.sh against the multipass stand-in", () => {
  it("passes shellcheck, sets the discovery container's image and waits for the rollout (idempotent)", () => {
    requireTool("shellcheck");
    const sc = shellcheck(script("istiod-image.sh"), "istiod-image.sh");
    assert.ok(sc.ok, sc.output);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "mpm-istiod-"));
    const bin = path.join(root, "bin");
    const state = path.join(root, "state");
    fs.mkdirSync(bin);
    fs.mkdirSync(state);
    fs.symlinkSync(path.join(__dirname, "stand-ins", "multipass"), path.join(bin, "multipass"));
    const env = { PATH: `${bin}:/usr/bin:/bin`, STANDIN_STATE: state, HOME: root };
    spawnSync(path.join(bin, "multipass"), ["launch", "--name", "kube-01", "22.04"], { env });
    fs.rmSync(path.join(state, "calls.log"));
    for (let i = 0; i < 2; i++) {
      const r = spawnSync(bash[0], [...bash.slice(1), script("istiod-image.sh")], {
        env: {
          ...env,
          CLUSTER: "kube-01",
          DEPLOYMENT: "istiod-1-16-2",
          IMAGE: "docker.io/h0tbird/pilot:1.16.2",
          ROLLOUT_TIMEOUT_SECONDS: "300",
        },
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
    }
    const calls = fs.readFileSync(path.join(state, "calls.log"), "utf8").trim().split("\n");
    const set =
      "multipass exec kube-01 -- sudo k3s kubectl -n istio-system set image deployment/istiod-1-16-2 discovery=docker.io/h0tbird/pilot:1.16.2";
    const wait =
      "multipass exec kube-01 -- sudo k3s kubectl -n istio-system rollout status deployment/istiod-1-16-2 --timeout 300s";
    assert.deepEqual(calls, [set, wait, set, wait]);
    assert.equal(
      fs.readFileSync(
        path.join(state, "multipass", "kube-01", "kube", "image", "istio-system", "istiod-1-16-2"),
        "utf8",
      ),
      "docker.io/h0tbird/pilot:1.16.2\n",
    );
  });
});
