// Proves properties of the whole program that no single component owns: it evaluates for the default and a
// larger topology, in normal and preview mode; children are named after their parents; nothing reaches a
// cluster through the default (ambient ~/.kube/config) provider; secrets never travel through command text;
// and the dependency graph's depth does not grow with the number of clusters.
import * as assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { longestChain } from "./graph";
import { type LabRun, type Registration, runLab } from "./harness";
import { largeTopology } from "./topologies";

function checkNaming(run: LabRun) {
  for (const r of run.registrations) {
    if (!r.parent || r.parent.includes("pulumi:pulumi:Stack")) continue;
    const parentName = r.parent.split("::").pop() as string;
    assert.ok(
      r.name.startsWith(`${parentName}-`),
      `${r.type} ${r.name} is not named after its parent ${parentName}`,
    );
  }
}

function checkProviders(run: LabRun, preview: boolean) {
  const providers = run.registrations.filter((r) => r.type === "pulumi:providers:kubernetes");
  assert.equal(
    providers.length,
    new Set(run.registrations.filter((r) => r.type === "multi-primary-mesh:index:K3sCluster")).size,
  );
  for (const p of providers) {
    if (preview) {
      assert.ok(
        p.unknownInputPaths.includes("kubeconfig"),
        `${p.name}: kubeconfig unknown in a first preview`,
      );
    } else {
      assert.ok(p.inputs.kubeconfig?.length > 100, `${p.name} has an empty kubeconfig (= ~/.kube/config)`);
      assert.ok(p.secretInputPaths.includes("kubeconfig"), `${p.name}: kubeconfig is secret`);
      assert.ok(p.inputs.clusterIdentifier, `${p.name}: clusterIdentifier`);
    }
  }
  const inCluster = run.registrations.filter((r) => r.type.startsWith("kubernetes:") && r.custom);
  assert.ok(inCluster.length > 0);
  for (const r of inCluster) {
    assert.ok(r.provider, `${r.type} ${r.name} uses the default provider (the user's ~/.kube/config)`);
    assert.ok(r.deletedWith, `${r.type} ${r.name} is not deleted with its VM (a destroy would hang)`);
  }
}

function checkCommands(run: LabRun) {
  const commands = run.registrations.filter((r) => r.type === "command:local:Command");
  assert.ok(commands.length > 10);
  for (const c of commands) {
    for (const field of ["create", "update", "delete"]) {
      assert.ok(
        !c.secretInputPaths.some((p) => p.startsWith(field)),
        `${c.name}: a secret inside its ${field} text`,
      );
    }
    if (c.additionalSecretOutputs.includes("stdout")) {
      assert.ok(["stderr", "none"].includes(c.inputs.logging), `${c.name} logs its secret stdout`);
    }
  }
}

for (const [what, config] of [
  ["default topology", {}],
  ["5 workload clusters and 3 mesh VMs", largeTopology],
] as const) {
  describe(what, () => {
    let normal: LabRun;
    let preview: LabRun;
    before(async () => {
      normal = await runLab({ config });
      preview = await runLab({ config, preview: true });
    });

    test("evaluates in normal and preview mode, registering the same resources", () => {
      const key = (r: Registration) => `${r.type}::${r.name}`;
      assert.deepEqual(normal.registrations.map(key).sort(), preview.registrations.map(key).sort());
    });

    test("every child is named after its parent", () => {
      checkNaming(normal);
    });

    test("every in-cluster resource goes through its cluster's provider, never the default one", () => {
      checkProviders(normal, false);
      checkProviders(preview, true);
    });

    test("secrets never travel in command text, and commands with secret output do not log it", () => {
      checkCommands(normal);
    });
  });
}

describe("the dependency graph", () => {
  test("its depth does not grow with the number of workload clusters (clusters proceed in parallel)", async () => {
    const two = longestChain(await runLab());
    const five = longestChain(await runLab({ config: largeTopology }));
    assert.equal(five.length, two.length);
    assert.deepEqual(
      two.map((r) => r.type).slice(0, 2),
      ["command:local:Command", "command:local:Command"],
      "it starts on the host (registry cache, VM launch)",
    );
  });

  test("longestChain counts custom resources along dependencies, a component standing for its children", () => {
    const reg = (urn: string, custom: boolean, deps: string[] = [], parent = ""): Registration =>
      ({
        urn,
        custom,
        dependencies: deps,
        propertyDependencies: {},
        parent,
        name: urn,
        type: "t",
      }) as Registration;
    const run = {
      registrations: [
        reg("comp", false),
        reg("a", true, [], "comp"),
        reg("b", true, ["a"], "comp"),
        reg("c", true, ["comp"]),
        reg("d", true, ["a"]),
      ],
    } as LabRun;
    assert.deepEqual(
      longestChain(run).map((r) => r.urn),
      ["a", "b", "c"],
    );
  });
});
