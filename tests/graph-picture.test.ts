// The README's component graph (tests/graph-picture.ts, `npm run graph`): current with the program, and drawn
// by a generator whose aggregation, reduction and Mermaid text are pinned on a tiny synthetic run.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe, test } from "node:test";
import {
  componentGraph,
  graphBlock,
  labGraphBlock,
  mermaid,
  readmeBlock,
  readmePath,
  transitiveReduction,
  withGraph,
} from "./graph-picture";
import type { Registration } from "./harness";

const stackUrn = "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev";
const urnOf = (type: string, name: string) => `urn:pulumi:dev::p::${type}::${name}`;

/** A registration with nothing but what the graph reads. */
function reg(type: string, name: string, more: Partial<Registration> = {}): Registration {
  return {
    type,
    name,
    urn: urnOf(type, name),
    custom: !type.startsWith("p:index:") && type !== "pulumi:pulumi:Stack",
    parent: stackUrn,
    provider: "",
    dependencies: [],
    propertyDependencies: {},
    deleteBeforeReplace: false,
    additionalSecretOutputs: [],
    deletedWith: "",
    ignoreChanges: [],
    replaceOnChanges: [],
    inputs: {},
    secretInputPaths: [],
    unknownInputPaths: [],
    ...more,
  };
}

/**
 * Cluster c1 (its VM nested in a MultipassVm component, and a k8s provider), an app on c1 that reaches c1 only
 * through the provider, a CA, and a check that depends on everything: c1 -> app -> check makes c1 -> check
 * implied, ca -> check direct.
 */
function tinyRun(): Registration[] {
  const cluster = reg("p:index:K3sCluster", "c1");
  const vm = reg("p:index:MultipassVm", "c1-vm", { parent: cluster.urn });
  const launch = reg("command:local:Command", "c1-vm-launch", { parent: vm.urn });
  const provider = reg("pulumi:providers:kubernetes", "c1-provider", {
    parent: cluster.urn,
    propertyDependencies: { kubeconfig: [launch.urn] },
  });
  const app = reg("p:index:App", "c1-app");
  const appChild = reg("kubernetes:core/v1:Namespace", "c1-app-ns", {
    parent: app.urn,
    provider: `${provider.urn}::c1-provider-id`,
  });
  const ca = reg("p:index:Ca", "ca");
  const key = reg("tls:index/privateKey:PrivateKey", "ca-key", { parent: ca.urn });
  const check = reg("p:index:Check", "check");
  const run = reg("command:local:Command", "check-run", {
    parent: check.urn,
    // dependsOn a component (app), a property dependency on a nested resource (the launch) and on the CA's key.
    dependencies: [app.urn],
    propertyDependencies: { environment: [launch.urn, key.urn] },
  });
  return [
    reg("pulumi:pulumi:Stack", "p-dev", { parent: "", urn: stackUrn }),
    cluster,
    vm,
    launch,
    provider,
    app,
    appChild,
    ca,
    key,
    check,
    run,
  ];
}

describe("component graph", () => {
  test("README's resource graph is the one the program draws now", async () => {
    const block = await labGraphBlock();
    const current = readmeBlock(fs.readFileSync(readmePath, "utf8"));
    assert.ok(current, "README.md has no <!-- graph:begin --> … <!-- graph:end --> block: run npm run graph");
    assert.equal(current, block, "README's resource graph is stale: run npm run graph");
  });

  test("aggregates children into their top-level component and draws the reduced graph as Mermaid", () => {
    assert.equal(
      mermaid(componentGraph(tinyRun())),
      [
        "flowchart LR",
        "  subgraph cluster_c1[c1]",
        '    c1["K3sCluster<br/>c1"]',
        '    c1_app["App<br/>c1-app"]',
        "  end",
        '  ca["Ca<br/>ca"]',
        '  check["Check<br/>check"]',
        "  c1 --> c1_app",
        "  c1_app --> check",
        "  ca --> check",
        "",
      ].join("\n"),
    );
  });

  test("the aggregation keeps the implied edge that the reduction then drops", () => {
    const graph = componentGraph(tinyRun());
    const named = (edges: Map<string, Set<string>>) =>
      [...edges]
        .flatMap(([from, tos]) =>
          [...tos].map((to) => `${from.split("::").pop()} -> ${to.split("::").pop()}`),
        )
        .sort();
    assert.deepEqual(named(graph.edges), ["c1 -> c1-app", "c1 -> check", "c1-app -> check", "ca -> check"]);
    assert.deepEqual(named(transitiveReduction(graph.edges)), [
      "c1 -> c1-app",
      "c1-app -> check",
      "ca -> check",
    ]);
  });

  test("the reduction drops only implied edges, and refuses a cycle", () => {
    const edges = new Map([
      ["a", new Set(["b", "c", "d"])],
      ["b", new Set(["c"])],
      ["c", new Set(["d"])],
    ]);
    assert.deepEqual(
      transitiveReduction(edges),
      new Map([
        ["a", new Set(["b"])],
        ["b", new Set(["c"])],
        ["c", new Set(["d"])],
      ]),
    );
    assert.throws(
      () =>
        transitiveReduction(
          new Map([
            ["a", new Set(["b"])],
            ["b", new Set(["a"])],
          ]),
        ),
      /^Error: dependency cycle: a -> b -> a$/,
    );
  });

  test("the README block is replaced in place, or appended under its own section", () => {
    const block = graphBlock("flowchart LR\n  a --> b\n");
    assert.equal(block, "<!-- graph:begin -->\n```mermaid\nflowchart LR\n  a --> b\n```\n<!-- graph:end -->");
    const before = "# t\n\nintro\n\n<!-- graph:begin -->\nold\n<!-- graph:end -->\n\n## after\n";
    assert.equal(withGraph(before, block), `# t\n\nintro\n\n${block}\n\n## after\n`);
    const appended = withGraph("# t\n\nintro\n", block);
    assert.ok(appended.startsWith("# t\n\nintro\n\n## The resource graph\n\n"), appended);
    assert.ok(appended.endsWith(`\n\n${block}\n`), appended);
    assert.equal(withGraph(appended, block), appended, "regenerating an up-to-date README changes nothing");
  });
});
