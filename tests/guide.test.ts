// Proves that the README's operator's guide names what the program builds: contexts, VMs, Argo CD apps,
// namespaces, istiod's revision, stack outputs, config keys and the exact URNs it gives to --target.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import * as yaml from "js-yaml";
import { defaults, parseLabConfig } from "../config";
import { type LabRun, project, type Registration, runLab, stack } from "./harness";

const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
const cfg = parseLabConfig({});
const all = (re: RegExp) => [...readme.matchAll(re)].map((m) => m[1]);

/** The URN the Pulumi engine gives a resource: the parent chain's types (without the stack's) joined by `$`. */
export function engineUrn(run: LabRun, reg: Registration): string {
  const types: string[] = [];
  for (let r: Registration | undefined = reg; r; r = run.registrations.find((x) => x.urn === r?.parent)) {
    if (r.type !== "pulumi:pulumi:Stack") types.unshift(r.type);
  }
  return `urn:pulumi:${stack}::${project}::${types.join("$")}::${reg.name}`;
}

describe("the operator's guide matches the program", () => {
  let run: LabRun;
  before(async () => {
    run = await runLab();
  });

  test("every --context names a cluster", () => {
    const contexts = new Set(all(/--context (\S+)/g));
    assert.ok(contexts.size >= 3);
    for (const c of contexts)
      assert.ok(
        cfg.clusters.some((x) => x.name === c),
        `--context ${c}`,
      );
    assert.deepEqual(
      run.outputs.clusters.map((c: { context: string }) => c.context),
      cfg.clusters.map((c) => c.name),
    );
  });

  test("every multipass exec names a VM of the lab", () => {
    const vms = new Set(all(/multipass exec (\S+)/g).filter((v) => !v.startsWith("<")));
    const names = [...cfg.clusters.map((c) => c.name), ...cfg.meshVms.map((v) => v.name)];
    assert.deepEqual([...vms].sort(), [...names].sort(), "the guide covers every VM and names no other");
  });

  test("every Argo CD app the guide syncs is one the program creates, and all of them are synced", () => {
    const synced = readme
      .split("\n")
      .filter((l) => l.startsWith("argocd app sync "))
      .flatMap((l) => l.slice("argocd app sync ".length).split(" "));
    assert.deepEqual([...synced].sort(), [...run.outputs.argocd.applications].sort());
  });

  test("namespaces used with -n exist in the graph", () => {
    const namespaces = new Set(all(/ -n ([a-z][\w-]*)/g));
    const inGraph = new Set(
      run.registrations.flatMap((r) => [r.inputs.metadata?.namespace, r.inputs.spec?.destination?.namespace]),
    );
    for (const ns of namespaces) assert.ok(inGraph.has(ns), `namespace ${ns}`);
    assert.deepEqual([...namespaces].sort(), ["argocd", "httpbin", "istio-system"]);
  });

  test("istiod is named after the configured revision", () => {
    const istiods = new Set(all(/(istiod-[\w-]+)[ .]/g));
    assert.deepEqual([...istiods], [`istiod-${cfg.versions.istioRevision}`]);
  });

  test("every `pulumi stack output X` is a stack output", () => {
    const names = new Set(all(/pulumi stack output (?:--\S+ )*([a-zA-Z]+)/g));
    assert.ok(names.size >= 5);
    for (const n of names) assert.ok(n in run.outputs, `stack output ${n}`);
    const section = readme.slice(readme.indexOf("## Outputs"), readme.indexOf("## Configuration"));
    const table = [...section.matchAll(/^\| `(\w+)`\s+\|/gm)].map((m) => m[1]);
    assert.deepEqual(table.sort(), Object.keys(run.outputs).sort(), "the outputs table lists every output");
  });

  test("every --target / --replace URN is exactly one resource's engine URN", () => {
    const urns = all(/'(urn:pulumi:[^']+)'/g);
    assert.ok(urns.length >= 5);
    const known = new Set(run.registrations.map((r) => engineUrn(run, r)));
    for (const urn of urns) assert.ok(known.has(urn), `no resource has URN ${urn}`);
  });

  test("every `pulumi config set` key is a key of the program", () => {
    const declared = Object.keys(
      (yaml.load(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")) as { config: object })
        .config,
    );
    const keys = new Set(all(/pulumi config set (?:--path )?'?([a-zA-Z]+)/g));
    assert.ok(keys.size >= 5);
    for (const k of keys) {
      assert.ok(
        declared.includes(k) || ["clusters", "meshVms", "registryMirrors"].includes(k),
        `config key ${k}`,
      );
    }
    for (const k of Object.keys(defaults.scalars))
      assert.match(readme, new RegExp(`\`${k}\``), `README documents ${k}`);
  });

  test("the engine URN of a nested resource carries its parents' types", () => {
    const launch = run.registrations.find((r) => r.name === "kube-00-vm-launch") as Registration;
    assert.equal(
      engineUrn(run, launch),
      "urn:pulumi:dev::multi-primary-mesh::multi-primary-mesh:index:K3sCluster$multi-primary-mesh:index:MultipassVm$command:local:Command::kube-00-vm-launch",
    );
  });
});
