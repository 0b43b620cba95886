// Suspend / resume (config `suspended`): scripts/multipass-vm-power.sh runs for real against the multipass
// stand-in, and the program under mocks changes only the VMs' power commands (and the providers' reachability
// options) while suspended, keeps every address, and skips the mesh check.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime/mocks";
import { load } from "js-yaml";
import { script } from "../components/shell";
import { find, type LabRun, ofType, type Registration, runLab } from "./harness";
import { mockVmIp } from "./mock-outputs";
import { scratchHost } from "./scratch-host";
import { requireTool, shellcheck } from "./validators";

const CMD = "command:local:Command";

/** A scratch host whose PATH has the multipass stand-in, with one VM `kube-01` (Running, 192.168.64.2). */
function host() {
  const h = scratchHost();
  h.launch("kube-01");
  const vmState = (vm: string) => path.join(h.vmDir(vm), "state");
  return {
    /** Runs the power script as the Command does; `previous` is what Pulumi passes from the last run. */
    power: (vm: string, power: string, previous?: string) =>
      h.run("multipass-vm-power.sh", {
        VM_NAME: vm,
        VM_POWER: power,
        ...(previous === undefined ? {} : { PULUMI_COMMAND_STDOUT: previous }),
      }),
    /** Calls that changed a VM's power (`multipass start|suspend`) since last asked. */
    powerCalls: () => h.calls().filter((l) => /^multipass (start|suspend|stop) /.test(l)),
    state: (vm: string) => fs.readFileSync(vmState(vm), "utf8").trim(),
    setState: (vm: string, s: string) => fs.writeFileSync(vmState(vm), `${s}\n`),
  };
}

describe("scripts/multipass-vm-power.sh against the multipass stand-in", () => {
  it("passes shellcheck", () => {
    requireTool("shellcheck");
    const r = shellcheck(script("multipass-vm-power.sh"), "multipass-vm-power.sh");
    assert.ok(r.ok, r.output);
  });

  it("suspends a running VM once, printing only its address; a re-run changes nothing and keeps the address", () => {
    const h = host();
    const first = h.power("kube-01", "suspended");
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout, "192.168.64.2\n");
    assert.deepEqual(h.powerCalls(), ["multipass suspend kube-01"]);
    assert.equal(h.state("kube-01"), "Suspended");
    // The update re-run: Pulumi hands over the previous output; a suspended VM shows no address of its own.
    const again = h.power("kube-01", "suspended", "192.168.64.2");
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, "192.168.64.2\n");
    assert.deepEqual(h.powerCalls(), []);
    assert.match(again.stderr, /VM kube-01 is already suspended/);
  });

  it("resumes a suspended VM once (multipass start) and prints its address; a re-run starts nothing", () => {
    const h = host();
    h.power("kube-01", "suspended");
    h.powerCalls();
    const resumed = h.power("kube-01", "running", "192.168.64.2");
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(resumed.stdout, "192.168.64.2\n");
    assert.deepEqual(h.powerCalls(), ["multipass start kube-01"]);
    assert.equal(h.state("kube-01"), "Running");
    const again = h.power("kube-01", "running", "192.168.64.2");
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, "192.168.64.2\n");
    assert.deepEqual(h.powerCalls(), []);
  });

  it("a VM suspended outside Pulumi (no address known) is started once to read its address, then suspended", () => {
    const h = host();
    h.setState("kube-01", "Suspended");
    const r = h.power("kube-01", "suspended");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "192.168.64.2\n");
    assert.deepEqual(h.powerCalls(), ["multipass start kube-01", "multipass suspend kube-01"]);
    assert.equal(h.state("kube-01"), "Suspended");
  });

  it("a missing VM fails with a message that says so and how to rebuild it; nothing is started", () => {
    const h = host();
    for (const power of ["suspended", "running"]) {
      const r = h.power("kube-09", power);
      assert.equal(r.status, 1);
      assert.equal(r.stdout, "");
      assert.equal(
        r.stderr.trim(),
        "VM kube-09 does not exist (multipass list): it was deleted outside Pulumi. Rebuild it with pulumi up " +
          "--target-replace <URN of its launch> (pulumi stack --show-urns), or pulumi destroy then pulumi up",
      );
    }
    assert.deepEqual(h.powerCalls(), []);
  });

  it("a deleted (not purged) VM and a bad VM_POWER fail, saying what to do", () => {
    const h = host();
    h.setState("kube-01", "Deleted");
    const deleted = h.power("kube-01", "running");
    assert.equal(deleted.status, 1);
    assert.equal(
      deleted.stderr.trim(),
      "VM kube-01 is deleted but not purged: bring it back with multipass recover kube-01, then run pulumi up",
    );
    const bad = h.power("kube-01", "off");
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim(), 'VM_POWER is "off": expected running or suspended');
  });
});

/** Resources by `type::name`. */
function byKey(run: LabRun): Map<string, Registration> {
  return new Map(run.registrations.map((r) => [`${r.type}::${r.name}`, r]));
}

describe("the program with suspended=true (under mocks)", () => {
  const vms = ["kube-00", "kube-01", "kube-02", "virt-01"];
  // The power commands report an address unlike what `multipass info` gives, to tell which one is used.
  const lastSeen = (vm: string) => `10.99.0.${vms.indexOf(vm) + 1}`;
  const outputs = (args: MockResourceArgs) =>
    args.type === CMD && args.name.endsWith("-vm-power")
      ? { stdout: `${lastSeen(args.inputs.environment.VM_NAME)}\n`, stderr: "" }
      : undefined;
  let running: LabRun;
  let suspended: LabRun;
  before(async () => {
    running = await runLab({});
    suspended = await runLab({ config: { suspended: true } });
  });

  it("each VM has a power command triggered by its launch: running by default, suspended when asked", () => {
    for (const vm of vms) {
      for (const [run, power] of [
        [running, "running"],
        [suspended, "suspended"],
      ] as const) {
        const cmd = find(run, CMD, `${vm}-vm-power`);
        assert.deepEqual(cmd.inputs.environment, { VM_NAME: vm, VM_POWER: power });
        assert.equal(cmd.inputs.create, script("multipass-vm-power.sh"));
        assert.equal(cmd.inputs.update, script("multipass-vm-power.sh"));
        assert.deepEqual(cmd.inputs.triggers, [`${vm}-vm-launch-id`]);
      }
    }
  });

  it("only the power commands and the providers' reachability options change; the mesh check is not run", () => {
    const [a, b] = [byKey(running), byKey(suspended)];
    assert.deepEqual(
      [...a.keys()].filter((k) => !b.has(k)),
      ["multi-primary-mesh:index:MeshCheck::mesh-check", `${CMD}::mesh-check-run`],
    );
    assert.deepEqual(
      [...b.keys()].filter((k) => !a.has(k)),
      [],
    );
    const changed = [...b.keys()].filter(
      (k) => JSON.stringify(a.get(k)?.inputs) !== JSON.stringify(b.get(k)?.inputs),
    );
    assert.deepEqual(
      changed.sort(),
      [
        ...vms.map((vm) => `${CMD}::${vm}-vm-power`),
        ...["kube-00", "kube-01", "kube-02"].map((c) => `pulumi:providers:kubernetes::${c}-provider`),
      ].sort(),
    );
    for (const c of ["kube-00", "kube-01", "kube-02"]) {
      const [p, q] = [
        a.get(`pulumi:providers:kubernetes::${c}-provider`),
        b.get(`pulumi:providers:kubernetes::${c}-provider`),
      ];
      assert.equal(p?.inputs.deleteUnreachable, "true");
      assert.equal(p?.inputs.skipUpdateUnreachable, undefined);
      // A refresh while suspended must not drop in-cluster resources from the state; an up leaves them as is.
      assert.equal(q?.inputs.deleteUnreachable, "false");
      assert.equal(q?.inputs.skipUpdateUnreachable, "true");
      assert.equal(q?.inputs.kubeconfig, p?.inputs.kubeconfig);
      assert.equal(q?.inputs.clusterIdentifier, p?.inputs.clusterIdentifier);
    }
    assert.equal(suspended.outputs.meshCheck, undefined);
  });

  it("while suspended, every address is the one the power command last saw (multipass info is not read)", async () => {
    const seen = await runLab({ config: { suspended: true }, outputs });
    const live = await runLab({ outputs });
    for (const vm of ["kube-00", "kube-01", "kube-02"]) {
      const c = (run: LabRun) => run.outputs.clusters.find((x: { name: string }) => x.name === vm);
      assert.equal(c(seen).ip, lastSeen(vm));
      assert.equal(c(live).ip, mockVmIp(vm));
      const kc = load(find(seen, "pulumi:providers:kubernetes", `${vm}-provider`).inputs.kubeconfig) as any;
      assert.equal(kc.clusters[0].cluster.server, `https://${lastSeen(vm)}:6443`);
    }
    assert.equal(seen.outputs.meshVms[0].ip, lastSeen("virt-01"));
    assert.equal(live.outputs.meshVms[0].ip, mockVmIp("virt-01"));
  });

  it("after a resume the address is read again, after the power command (the providers depend on it)", () => {
    for (const c of ["kube-00", "kube-01", "kube-02"]) {
      const provider = find(running, "pulumi:providers:kubernetes", `${c}-provider`);
      assert.ok(provider.propertyDependencies.kubeconfig.includes(find(running, CMD, `${c}-vm-power`).urn));
    }
    const check = find(running, CMD, "mesh-check-run");
    for (const vm of vms)
      assert.ok(check.dependencies.includes(find(running, CMD, `${vm}-vm-power`).urn), vm);
  });

  it("a preview while suspended registers the same resources and fails on nothing", async () => {
    const preview = await runLab({ config: { suspended: true }, preview: true });
    assert.deepEqual(
      ofType(preview, CMD)
        .map((r) => r.name)
        .sort(),
      ofType(suspended, CMD)
        .map((r) => r.name)
        .sort(),
    );
  });
});
