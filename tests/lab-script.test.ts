// Proves scripts/lab.sh (npm run up / down / preview): clear errors for missing host tools, the passphrase
// made once and reused, and the right pulumi commands on the dev stack.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { shellcheck } from "./validators";

const lab = path.join(__dirname, "..", "scripts", "lab.sh");

/** A PATH with only the basics plus recording stand-ins for the named tools. */
function sandbox(tools: string[]) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "lab-"));
  const bin = path.join(root, "bin");
  const home = path.join(root, "home");
  fs.mkdirSync(bin);
  fs.mkdirSync(home);
  for (const t of ["bash", "env", "od", "tr", "mkdir", "dirname", "cat"]) {
    const real = spawnSync("bash", ["-c", `command -v ${t}`], { encoding: "utf8" }).stdout.trim();
    fs.symlinkSync(real, path.join(bin, t));
  }
  const log = path.join(root, "calls.log");
  for (const t of tools) {
    fs.writeFileSync(
      path.join(bin, t),
      `#!/bin/bash\necho "${t} $* passfile=\${PULUMI_CONFIG_PASSPHRASE_FILE:-} pass=\${PULUMI_CONFIG_PASSPHRASE-unset}" >>"${log}"\n`,
      { mode: 0o755 },
    );
  }
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync("bash", [lab, ...args], { encoding: "utf8", env: { PATH: bin, HOME: home, ...env } });
  const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []);
  return { run, calls, home };
}

test("lab.sh passes shellcheck", () => {
  const r = shellcheck(fs.readFileSync(lab, "utf8"), "lab.sh");
  assert.ok(r.ok, r.output);
});

test("up without pulumi says what to install and runs nothing", () => {
  const box = sandbox(["multipass"]);
  const r = box.run(["up"]);
  assert.equal(r.status, 1);
  assert.equal(
    r.stderr,
    "error: 'pulumi' is not installed. Install the Pulumi CLI: https://www.pulumi.com/docs/install/\n",
  );
  assert.deepEqual(box.calls(), []);
});

test("up without multipass says what to install; down does not need it", () => {
  const box = sandbox(["pulumi"]);
  const up = box.run(["up"]);
  assert.equal(up.status, 1);
  assert.equal(
    up.stderr,
    "error: 'multipass' is not installed. Install Multipass 1.11 or newer: https://multipass.run/install\n",
  );
  const down = box.run(["down", "--yes"]);
  assert.equal(down.status, 0, down.stderr);
  const passfile = path.join(box.home, ".pulumi", "multi-primary-mesh.passphrase");
  assert.deepEqual(box.calls(), [
    `pulumi stack select --create dev --non-interactive passfile=${passfile} pass=unset`,
    `pulumi destroy --stack dev --yes passfile=${passfile} pass=unset`,
  ]);
});

test("the passphrase is made once, private, and reused", () => {
  const box = sandbox(["pulumi", "multipass"]);
  assert.equal(box.run(["up"]).status, 0);
  const passfile = path.join(box.home, ".pulumi", "multi-primary-mesh.passphrase");
  const first = fs.readFileSync(passfile, "utf8");
  assert.match(first, /^[0-9a-f]{64}$/);
  assert.equal(fs.statSync(passfile).mode & 0o777, 0o600);
  assert.equal(box.run(["preview", "--diff"]).status, 0);
  assert.equal(fs.readFileSync(passfile, "utf8"), first);
  assert.deepEqual(box.calls().slice(-1), [
    `pulumi preview --stack dev --diff passfile=${passfile} pass=unset`,
  ]);
});

test("a passphrase the user set is used as is, and PULUMI_STACK picks the stack", () => {
  const box = sandbox(["pulumi", "multipass"]);
  const r = box.run(["up", "--yes"], { PULUMI_CONFIG_PASSPHRASE: "", PULUMI_STACK: "demo" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(box.calls(), [
    "pulumi stack select --create demo --non-interactive passfile= pass=",
    "pulumi up --stack demo --yes passfile= pass=",
  ]);
  assert.equal(fs.existsSync(path.join(box.home, ".pulumi")), false);
});

test("an unknown action prints usage", () => {
  const r = sandbox([]).run(["launch"]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, "usage: scripts/lab.sh up|down|preview [pulumi flags...]\n");
});
