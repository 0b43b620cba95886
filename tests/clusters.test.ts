// The host side under Pulumi mocks: registry caches, one VM + k3s cluster + provider per cluster, the kube
// contexts, and the stack outputs that say how to reach them.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import type * as pulumi from "@pulumi/pulumi";
import { load } from "js-yaml";
import { renderK3sUserData } from "../cloud-init/k3s";
import { rewriteKubeconfig } from "../components/k3s-cluster";
import { MultipassVm } from "../components/multipass-vm";
import { script } from "../components/shell";
import { parseLabConfig } from "../config";
import {
  ancestors,
  dependsOn,
  find,
  type LabRun,
  ofType,
  outputValue,
  plain,
  providerOf,
  type Registration,
  runLab,
} from "./harness";
import { mockK3sClientKey, mockK3sYaml, mockVmIp } from "./mock-outputs";

const CMD = "command:local:Command";
const names = ["kube-00", "kube-01", "kube-02"];
const cfg = parseLabConfig({});

/** The Outputs index.ts exported in the last run (read from the module, so they keep their secretness). */
function stackExports(): Record<string, pulumi.Output<unknown>> {
  return require(path.resolve(__dirname, "..", "index.ts"));
}

/** The K3sCluster component registration a resource belongs to, by walking parents. */
function clusterOf(run: LabRun, reg: Registration): string | undefined {
  let r: Registration | undefined = reg;
  while (r) {
    if (r.type === "multi-primary-mesh:index:K3sCluster") return r.name;
    const parent: string = r.parent;
    r = run.registrations.find((x) => x.urn === parent);
  }
  return undefined;
}

describe("host side under mocks (default topology)", async () => {
  const run = await runLab({});

  it("a registry cache per upstream: pinned image, exact environment, replaced delete-first", () => {
    const mirrors = ofType(run, CMD).filter((r) => r.name.startsWith("registry-mirrors-"));
    assert.deepEqual(
      mirrors.map((m) => [m.name, m.inputs.environment, m.deleteBeforeReplace, m.inputs.triggers]),
      cfg.registryMirrors.mirrors.map((m) => [
        `registry-mirrors-${m.upstream}`,
        {
          CONTAINER_NAME: `registry-${m.upstream}`,
          IMAGE: "registry:2.8.3",
          HOST_PORT: String(m.port),
          REMOTE_URL: m.remoteUrl,
        },
        true,
        ["registry:2.8.3", m.port, m.remoteUrl],
      ]),
    );
    for (const m of mirrors) {
      assert.equal(m.inputs.create, script("registry-mirror-run.sh"));
      assert.equal(m.inputs.delete, script("registry-mirror-delete.sh"));
    }
  });

  it("each VM launch: the cluster's user-data on stdin, VM settings in the environment, deleteBeforeReplace", () => {
    for (const name of names) {
      const launch = find(run, CMD, `${name}-vm-launch`);
      const spec = cfg.clusters.find((c) => c.name === name);
      assert.ok(spec);
      const userData = renderK3sUserData({
        clusterName: name,
        podCidr: spec.podCidr,
        serviceCidr: spec.serviceCidr,
        k3sVersion: "v1.25.16+k3s4",
        calicoVersion: "v3.25.0",
        region: "milky-way",
        zone: "solar-system",
        mirrors: [
          { upstream: "docker.io", port: 5001 },
          { upstream: "quay.io", port: 5002 },
          { upstream: "ghcr.io", port: 5003 },
        ],
        readyTimeoutSeconds: 1800,
      });
      assert.equal(launch.deleteBeforeReplace, true);
      assert.equal(launch.inputs.stdin, userData);
      assert.deepEqual(launch.inputs.environment, {
        VM_NAME: name,
        VM_IMAGE: "22.04",
        VM_CPUS: "2",
        VM_MEMORY_GIB: "4",
        VM_DISK_GIB: "10",
        VM_TIMEOUT_SECONDS: "1800",
      });
      // What the VM is made of forces a new VM; the timeout does not.
      assert.deepEqual(launch.inputs.triggers, [name, "22.04", 2, 4, 10, userData]);
      assert.equal(launch.inputs.create, script("multipass-vm-launch.sh"));
      assert.equal(launch.inputs.delete, script("multipass-vm-delete.sh"));
      // The caches run before the VMs pull through them.
      for (const m of ["docker.io", "quay.io", "ghcr.io"]) {
        assert.ok(dependsOn(run, launch, find(run, CMD, `registry-mirrors-${m}`)), `${name} after ${m}`);
      }
    }
  });

  it("everything acting on a VM re-runs when it is replaced: triggers = [its launch id]", () => {
    for (const name of names) {
      for (const cmd of [`${name}-vm-arch`, `${name}-kubeconfig`]) {
        assert.deepEqual(find(run, CMD, cmd).inputs.triggers, [`${name}-vm-launch-id`], cmd);
      }
    }
  });

  it("the kubeconfig read: stdout secret and not logged", () => {
    for (const name of names) {
      const read = find(run, CMD, `${name}-kubeconfig`);
      assert.deepEqual(read.additionalSecretOutputs, ["stdout"]);
      assert.equal(read.inputs.logging, "stderr");
      assert.deepEqual(read.inputs.environment, { VM_NAME: name, READY_TIMEOUT_SECONDS: "1800" });
    }
  });

  it("each provider: that cluster's rewritten kubeconfig (secret), a stable identifier, after the node-ready read", () => {
    for (const name of names) {
      const provider = find(run, "pulumi:providers:kubernetes", `${name}-provider`);
      const kubeconfig = plain(provider.inputs.kubeconfig);
      assert.equal(kubeconfig, rewriteKubeconfig(mockK3sYaml(name), name, mockVmIp(name)));
      assert.ok(provider.secretInputPaths.includes("kubeconfig"));
      assert.equal(provider.inputs.clusterIdentifier, `${name}-vm-launch-id`);
      assert.equal(provider.inputs.deleteUnreachable, "true");
      assert.deepEqual(provider.propertyDependencies.kubeconfig.sort(), [
        find(run, CMD, `${name}-kubeconfig`).urn,
        find(run, CMD, `${name}-vm-launch`).urn,
        // The IP is read once the VM's power state is applied (after a resume; helper F).
        find(run, CMD, `${name}-vm-power`).urn,
      ]);
      const kc = load(kubeconfig) as any;
      assert.equal(kc.clusters[0].cluster.server, `https://${mockVmIp(name)}:6443`);
      assert.deepEqual([kc.clusters[0].name, kc.users[0].name, kc.contexts[0].name], [name, name, name]);
    }
  });

  it("k3s's client key appears only in secret inputs, everywhere in the program", () => {
    const key = Buffer.from(mockK3sClientKey).toString("base64");
    const leaks: string[] = [];
    const visit = (reg: Registration, v: unknown, at: string) => {
      if (typeof v === "string" && v.includes(key)) {
        if (!reg.secretInputPaths.some((p) => at === p || at.startsWith(`${p}.`) || at.startsWith(`${p}[`))) {
          leaks.push(`${reg.name}: ${at}`);
        }
      } else if (Array.isArray(v)) {
        for (const [i, x] of v.entries()) visit(reg, x, `${at}[${i}]`);
      } else if (v && typeof v === "object") {
        for (const [k, x] of Object.entries(v)) visit(reg, x, at ? `${at}.${k}` : k);
      }
    };
    for (const reg of run.registrations) visit(reg, plain(reg.inputs), "");
    assert.deepEqual(leaks, []);
    assert.ok(run.registrations.some((r) => r.secretInputPaths.length > 0));
  });

  it("kube contexts: merged by the Node script, kubeconfigs through the secret environment", () => {
    const merge = find(run, CMD, "kube-contexts-merge");
    const env = plain(merge.inputs.environment);
    assert.equal(merge.inputs.create, "node scripts/kube-contexts.js merge");
    assert.equal(merge.inputs.delete, "node scripts/kube-contexts.js remove");
    assert.equal(merge.inputs.dir, path.resolve(__dirname, ".."));
    assert.equal(env.KUBECONFIG_PATH, "~/.kube/config");
    assert.deepEqual(merge.secretInputPaths, ["environment.LAB_KUBECONFIG"]);
    assert.deepEqual(merge.inputs.triggers, ["~/.kube/config"]);
    const lab = load(env.LAB_KUBECONFIG) as any;
    assert.deepEqual(
      lab.contexts.map((c: any) => c.name),
      names,
    );
  });

  it("stack outputs: clusters (name, role, network, ip, context), registry endpoints, and the kubeconfig as a secret", async () => {
    assert.deepEqual(run.outputs.clusters, [
      { name: "kube-00", role: "management", network: "", ip: mockVmIp("kube-00"), context: "kube-00" },
      { name: "kube-01", role: "workload", network: "network1", ip: mockVmIp("kube-01"), context: "kube-01" },
      { name: "kube-02", role: "workload", network: "network2", ip: mockVmIp("kube-02"), context: "kube-02" },
    ]);
    assert.deepEqual(run.outputs.registryMirrors, [
      { upstream: "docker.io", port: 5001 },
      { upstream: "quay.io", port: 5002 },
      { upstream: "ghcr.io", port: 5003 },
    ]);
    const kc = load(run.outputs.kubeconfig) as any;
    assert.deepEqual(
      kc.contexts.map((c: any) => c.name),
      names,
    );
    assert.equal(kc["current-context"], "kube-00");
    assert.ok(run.secretOutputs.includes("kubeconfig"));
    assert.ok(!run.secretOutputs.some((p) => p.startsWith("clusters")), "IPs and names are not secret");
  });
});

describe("host side under mocks: options and scale", () => {
  it("mirrors off and no kubeconfig merge: no caches, no registries.yaml, no KubeContexts; kubeconfig output stays", async () => {
    const run = await runLab({ config: { registryMirrorsEnabled: false, mergeKubeconfig: false } });
    assert.deepEqual(ofType(run, "multi-primary-mesh:index:RegistryMirrors"), []);
    assert.deepEqual(ofType(run, "multi-primary-mesh:index:KubeContexts"), []);
    assert.doesNotMatch(
      find(run, CMD, "kube-01-vm-launch").inputs.stdin,
      /path: \/etc\/rancher\/k3s\/registries/,
    );
    assert.deepEqual(run.outputs.registryMirrors, []);
    assert.equal((load(run.outputs.kubeconfig) as any).contexts.length, 3);
  });

  it("five clusters: five independent chains (no cluster's resource depends on another cluster's)", async () => {
    const clusters = [
      { name: "kube-00", role: "management" },
      ...[1, 2, 3, 4].map((i) => ({ name: `kube-0${i}`, role: "workload", network: `network${i}` })),
    ];
    const run = await runLab({ config: { clusters } });
    assert.equal(ofType(run, "multi-primary-mesh:index:K3sCluster").length, 5);
    for (const reg of run.registrations) {
      const own = clusterOf(run, reg);
      if (!own) continue;
      for (const urn of ancestors(run, reg)) {
        const dep = run.registrations.find((r) => r.urn === urn);
        const other = dep && clusterOf(run, dep);
        assert.ok(!other || other === own, `${reg.name} (${own}) depends on ${dep?.name} (${other})`);
      }
      // In-cluster resources use their own cluster's provider.
      const provider = providerOf(run, reg);
      if (provider?.type === "pulumi:providers:kubernetes")
        assert.equal(clusterOf(run, provider), own, reg.name);
    }
  });

  it("preview (every computed value unknown) runs, and IPs and kubeconfigs are unknown rather than wrong", async () => {
    const run = await runLab({ preview: true });
    for (const name of names) {
      const provider = find(run, "pulumi:providers:kubernetes", `${name}-provider`);
      assert.deepEqual(provider.unknownInputPaths.sort(), ["clusterIdentifier", "kubeconfig"]);
      assert.equal(find(run, CMD, `${name}-vm-launch`).deleteBeforeReplace, true);
    }
    // Names are known, IPs unknown (no VM is read during a first preview).
    const exported = stackExports().clusters as unknown as { name: string; ip: pulumi.Output<string> }[];
    assert.deepEqual(
      exported.map((c) => c.name),
      names,
    );
    for (const c of exported) assert.equal(await outputValue(c.ip), undefined);
  });

  it("MultipassVm rejects a non-positive size with the exact message", () => {
    assert.throws(
      () =>
        new MultipassVm("bad", {
          vmName: "bad",
          image: "22.04",
          cpus: 0,
          memoryGiB: 1,
          diskGiB: 8,
          userData: "#cloud-config\n",
          launchTimeoutSeconds: 60,
        }),
      { message: "MultipassVm bad: cpus is 0: expected a positive integer" },
    );
  });
});
