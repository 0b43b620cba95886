// Proves the argocd CLI context scripts: shellcheck-clean, a no-op note without the CLI, login under the
// management cluster's name with the password never printed, removal on destroy; and the Command wiring.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { scriptsDir } from "../components/shell";
import { find, plain, runLab } from "./harness";
import { shellcheck } from "./validators";

const env = {
  ARGOCD_SERVER: "192.168.64.10",
  ARGOCD_CONTEXT: "kube-00",
  ARGOCD_USERNAME: "admin",
  ARGOCD_PASSWORD: "s3cret-pw",
};

/** A PATH holding only bash's basics plus, optionally, a stand-in `argocd` that records its arguments. */
function sandbox(withCli: boolean) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "argocd-"));
  const log = path.join(dir, "calls");
  if (withCli) {
    fs.writeFileSync(
      path.join(dir, "argocd"),
      `#!/usr/bin/env bash\necho "$*" >> "${log}"\nif [ "$1" = context ] && [ $# -eq 1 ]; then printf 'CURRENT  NAME     SERVER\\n*        kube-00  192.168.64.10\\n'; fi\n`,
      { mode: 0o755 },
    );
  }
  for (const tool of ["bash", "seq", "sleep", "awk", "grep", "env"]) {
    const real = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    fs.symlinkSync(real, path.join(dir, tool));
  }
  const run = (name: string) =>
    spawnSync("/bin/bash", [path.join(scriptsDir, name)], { encoding: "utf8", env: { ...env, PATH: dir } });
  const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "");
  return { run, calls };
}

describe("argocd CLI context scripts", () => {
  for (const name of ["argocd-context.sh", "argocd-context-delete.sh"]) {
    test(`${name} passes shellcheck`, () => {
      const r = shellcheck(fs.readFileSync(path.join(scriptsDir, name), "utf8"), name);
      assert.ok(r.ok, r.output);
    });
  }

  test("without the CLI: exits 0 with a note, and delete is a no-op", () => {
    const s = sandbox(false);
    const r = s.run("argocd-context.sh");
    assert.equal(r.status, 0);
    assert.equal(r.stderr, "argocd CLI not found on this host: skipping the kube-00 context\n");
    assert.equal(s.run("argocd-context-delete.sh").status, 0);
  });

  test("with the CLI: logs in as context kube-00, never prints the password; delete removes the context", () => {
    const s = sandbox(true);
    const r = s.run("argocd-context.sh");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      s.calls(),
      "login 192.168.64.10 --name kube-00 --username admin --password s3cret-pw --insecure --grpc-web\n",
    );
    assert.ok(!`${r.stdout}${r.stderr}`.includes("s3cret-pw"));
    const d = s.run("argocd-context-delete.sh");
    assert.equal(d.status, 0, d.stderr);
    assert.match(s.calls(), /\ncontext\ncontext kube-00 --delete\n$/);
  });

  test("the lab's context Command: password as a secret environment value, stdout not logged, re-run with the VM", async () => {
    const run = await runLab();
    const cmd = find(run, "command:local:Command", "argocd-cli-context");
    assert.ok(
      cmd.secretInputPaths.includes("environment.ARGOCD_PASSWORD") ||
        cmd.secretInputPaths.includes("environment"),
    );
    assert.equal(cmd.inputs.logging, "stderr");
    const environment = plain(cmd.inputs.environment);
    assert.equal(environment.ARGOCD_CONTEXT, "kube-00");
    assert.equal(environment.ARGOCD_PASSWORD, "mock-password-of-argocd-admin-password");
    assert.equal(cmd.inputs.triggers.length, 1);
  });
});
