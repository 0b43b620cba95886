// The host-side scripts (VM launch/adopt/delete, IP and arch, kubeconfig read, registry caches, kube contexts)
// pass shellcheck and run for real against the multipass and docker stand-ins in tests/stand-ins/.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { load } from "js-yaml";
import { renderK3sUserData } from "../cloud-init/k3s";
import { rewriteKubeconfig } from "../components/k3s-cluster";
import { mergeKubeconfigs } from "../components/kube-contexts";
import { ipFromInfo } from "../components/multipass-vm";
import { script } from "../components/shell";
import { mockK3sYaml } from "./mock-outputs";
import { type Result, scratchHost } from "./scratch-host";
import { requireTool, shellcheck } from "./validators";

const standIns = path.join(__dirname, "stand-ins");
const projectDir = path.join(__dirname, "..");

const hostScripts = [
  "multipass-vm-launch.sh",
  "multipass-vm-delete.sh",
  "multipass-vm-info.sh",
  "multipass-vm-arch.sh",
  "k3s-kubeconfig.sh",
  "registry-mirror-run.sh",
  "registry-mirror-delete.sh",
];

describe("host scripts: static checks", () => {
  it("every host script and stand-in passes shellcheck and follows the script conventions", () => {
    requireTool("shellcheck");
    for (const name of hostScripts) {
      const text = script(name);
      const r = shellcheck(text, name);
      assert.ok(r.ok, `${name}:\n${r.output}`);
      assert.match(text, /^#!\/usr\/bin\/env bash\n(#.*\n)*set -euo pipefail\n/, name);
    }
    for (const name of ["multipass", "docker"]) {
      const r = shellcheck(fs.readFileSync(path.join(standIns, name), "utf8"), name);
      assert.ok(r.ok, `stand-in ${name}:\n${r.output}`);
    }
  });
});

const vmEnv = {
  VM_NAME: "kube-01",
  VM_IMAGE: "22.04",
  VM_CPUS: "2",
  VM_MEMORY_GIB: "4",
  VM_DISK_GIB: "10",
  VM_TIMEOUT_SECONDS: "1800",
};
const userData = renderK3sUserData({
  clusterName: "kube-01",
  podCidr: "10.42.0.0/16",
  serviceCidr: "10.43.0.0/16",
  k3sVersion: "v1.25.16+k3s4",
  calicoVersion: "v3.25.0",
  region: "milky-way",
  zone: "solar-system",
  mirrors: [{ upstream: "docker.io", port: 5001 }],
  readyTimeoutSeconds: 1800,
});
const launchCall =
  "multipass launch --name kube-01 --cpus 2 --memory 4G --disk 10G --timeout 1800 --cloud-init - 22.04";
// cloud-init is polled (not `--wait`ed on) so that the script can say how long it has waited.
const waitCall = "multipass exec kube-01 -- cloud-init status";
const followLine =
  "[kube-01] follow its first boot with: multipass exec kube-01 -- sudo tail -f /var/log/cloud-init-output.log";

/** The stderr lines that are progress lines (`[vm] waiting for ...`), and the others. */
function splitProgress(stderr: string, vm = "kube-01") {
  const lines = stderr.split("\n");
  const isProgress = (l: string) => l.startsWith(`[${vm}] waiting for `);
  return { progress: lines.filter(isProgress), rest: lines.filter((l) => !isProgress(l)) };
}

describe("MultipassVm launch script against the multipass stand-in", () => {
  it("first launch: launches with the user-data on stdin, then waits for cloud-init", () => {
    const h = scratchHost(["multipass"]);
    const r = h.run("multipass-vm-launch.sh", vmEnv, userData);
    assert.equal(r.status, 0, r.stderr);
    const calls = h.calls();
    assert.deepEqual(calls, ["multipass list --format csv", launchCall, waitCall]);
    assert.equal(fs.readFileSync(path.join(h.state, "multipass/kube-01/user-data"), "utf8"), userData);
    assert.equal(
      r.stdout,
      "launching VM kube-01: Ubuntu 22.04, 2 CPUs, 4G memory, 10G disk\nLaunched: kube-01\ncloud-init finished on VM kube-01\n",
    );
    // A quick launch: no progress line, only how to follow the first boot.
    assert.equal(r.stderr, `${followLine}\n`);
  });

  it("re-run on an existing running VM: adopts it (no launch, no start) and checks cloud-init", () => {
    const h = scratchHost(["multipass"]);
    assert.equal(h.run("multipass-vm-launch.sh", vmEnv, userData).status, 0);
    h.calls();
    const r = h.run("multipass-vm-launch.sh", vmEnv, userData);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(h.calls(), ["multipass list --format csv", waitCall]);
    assert.equal(r.stdout, "adopting the running VM kube-01\ncloud-init finished on VM kube-01\n");
    assert.equal(r.stderr, "");
  });

  it("re-run on a stopped VM: starts it instead of relaunching", () => {
    const h = scratchHost(["multipass"]);
    assert.equal(h.run("multipass-vm-launch.sh", vmEnv, userData).status, 0);
    h.arrange("multipass", "stop", "kube-01");
    const r = h.run("multipass-vm-launch.sh", vmEnv, userData);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(h.calls(), ["multipass list --format csv", "multipass start kube-01", waitCall]);
  });

  it("a deleted (not purged) VM is recovered and started, not relaunched", () => {
    const h = scratchHost(["multipass"]);
    assert.equal(h.run("multipass-vm-launch.sh", vmEnv, userData).status, 0);
    h.arrange("multipass", "delete", "kube-01");
    const r = h.run("multipass-vm-launch.sh", vmEnv, userData);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(h.calls().slice(0, 3), [
      "multipass list --format csv",
      "multipass recover kube-01",
      "multipass start kube-01",
    ]);
  });

  it("a failing cloud-init: exits 1 naming the VM, its status, the log's tail and the commands to look further", () => {
    const h = scratchHost(["multipass"]);
    const r = h.run("multipass-vm-launch.sh", { ...vmEnv, STANDIN_CLOUD_INIT: "error" }, userData);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      [
        followLine,
        "cloud-init failed on VM kube-01 (status: error); last lines of /var/log/cloud-init-output.log:",
        "Cloud-init v. 24.1.3 running 'modules:final'",
        "curl: (6) Could not resolve host: raw.githubusercontent.com",
        "gave up after 30 attempts: curl -fsSL -o /tmp/install-k3s.sh",
        "2024-01-01 00:00:00,000 - cc_scripts_user.py[WARNING]: Failed to run module scripts-user",
        "Look further with: multipass exec kube-01 -- sudo tail -n 50 /var/log/cloud-init-output.log",
        "  and: multipass exec kube-01 -- cloud-init status --long",
        "Once fixed, remove the VM (multipass delete --purge kube-01) and run pulumi up again.",
        "",
      ].join("\n"),
    );
    assert.deepEqual(h.calls().slice(-1), [
      "multipass exec kube-01 -- sudo tail -n 25 /var/log/cloud-init-output.log",
    ]);
  });

  it("cloud-init that outlasts the timeout: progress lines while it waits, then the timeout, last status and where to look", () => {
    const h = scratchHost(["multipass"]);
    const r = h.run(
      "multipass-vm-launch.sh",
      { ...vmEnv, VM_TIMEOUT_SECONDS: "3", PROGRESS_INTERVAL_SECONDS: "1", STANDIN_CLOUD_INIT: "timeout" },
      userData,
    );
    assert.equal(r.status, 1);
    const { progress, rest } = splitProgress(r.stderr);
    assert.ok(progress.length >= 1, r.stderr);
    for (const line of progress) {
      assert.match(
        line,
        /^\[kube-01\] waiting for cloud-init: \d+s of 3s \(status: running; log: Cloud-init v\. 24\.1\.3 finished\)\.\.\.$/,
      );
    }
    assert.deepEqual(rest, [
      followLine,
      "cloud-init did not finish on VM kube-01 within 3s (last status: running); last lines of /var/log/cloud-init-output.log:",
      "Cloud-init v. 24.1.3 running 'modules:final'",
      "Cloud-init v. 24.1.3 finished",
      "Look further with: multipass exec kube-01 -- sudo tail -n 50 /var/log/cloud-init-output.log",
      "  and: multipass exec kube-01 -- cloud-init status --long",
      "If it is still working, run pulumi up again to wait longer; if it is stuck, remove the VM (multipass delete --purge kube-01) and run pulumi up again.",
      "",
    ]);
  });

  it("a slow launch streams a progress line per interval: what it waits for, elapsed of timeout, VM state and log", () => {
    const h = scratchHost(["multipass"]);
    const r = h.run(
      "multipass-vm-launch.sh",
      { ...vmEnv, PROGRESS_INTERVAL_SECONDS: "1", STANDIN_LAUNCH_SECONDS: "3" },
      userData,
    );
    assert.equal(r.status, 0, r.stderr);
    const { progress, rest } = splitProgress(r.stderr);
    // About one a second for three seconds: some, not a flood.
    assert.ok(progress.length >= 1 && progress.length <= 4, r.stderr);
    for (const line of progress) {
      assert.match(
        line,
        /^\[kube-01\] waiting for multipass launch \(boot, then cloud-init\): \d+s of 1800s \(VM Running; log: Cloud-init v\. 24\.1\.3 finished\)\.\.\.$/,
      );
    }
    assert.deepEqual(rest, [followLine, ""]);
  });

  it("cloud-init still running after the launch: polled, with a progress line per interval, until done", () => {
    const h = scratchHost(["multipass"]);
    assert.equal(h.run("multipass-vm-launch.sh", vmEnv, userData).status, 0);
    fs.writeFileSync(path.join(h.state, "multipass/kube-01/cloud-init-running"), "3\n");
    h.calls();
    const r = h.run("multipass-vm-launch.sh", { ...vmEnv, PROGRESS_INTERVAL_SECONDS: "1" }, userData);
    assert.equal(r.status, 0, r.stderr);
    const { progress, rest } = splitProgress(r.stderr);
    assert.ok(progress.length >= 1, r.stderr);
    for (const line of progress) {
      assert.match(
        line,
        /^\[kube-01\] waiting for cloud-init: \d+s of 1800s \(status: running; log: Cloud-init v\. 24\.1\.3 finished\)\.\.\.$/,
      );
    }
    assert.deepEqual(rest, [""]);
    assert.equal(h.calls().filter((c) => c === waitCall).length, 4);
    assert.equal(r.stdout, "adopting the running VM kube-01\ncloud-init finished on VM kube-01\n");
  });

  it("a bad PROGRESS_INTERVAL_SECONDS is refused, naming it", () => {
    const r = scratchHost(["multipass"]).run("multipass-vm-launch.sh", {
      ...vmEnv,
      PROGRESS_INTERVAL_SECONDS: "0",
    });
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      "PROGRESS_INTERVAL_SECONDS is '0': expected a whole number of seconds, at least 1\n",
    );
  });

  it("cloud-init with recoverable errors (exit 2) is a warning, not a failure", () => {
    const h = scratchHost(["multipass"]);
    const r = h.run("multipass-vm-launch.sh", { ...vmEnv, STANDIN_CLOUD_INIT: "degraded" }, userData);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stderr,
      `${followLine}\nwarning: cloud-init finished on VM kube-01 with recoverable errors; look with: multipass exec kube-01 -- cloud-init status --long\n`,
    );
  });

  it("a launch that fails before a VM exists: exits 1 naming the VM, that none exists, and where to look", () => {
    const h = scratchHost(["multipass"]);
    const r = h.run("multipass-vm-launch.sh", { ...vmEnv, STANDIN_LAUNCH: "fail" }, userData);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      [
        followLine,
        'launch failed: Remote "" is unknown or unreachable.',
        "multipass launch of VM kube-01 failed (exit code 2, see above); no VM was created.",
        "Look with: multipass list",
        "Fix the cause and run pulumi up again.",
        "",
      ].join("\n"),
    );
    assert.deepEqual(h.calls(), ["multipass list --format csv", launchCall, "multipass list --format csv"]);
  });

  it("a launch that times out while the VM runs carries on waiting for cloud-init", () => {
    const h = scratchHost(["multipass"]);
    const r = h.run("multipass-vm-launch.sh", { ...vmEnv, STANDIN_LAUNCH: "timeout" }, userData);
    assert.equal(r.status, 0, r.stderr);
    const calls = h.calls();
    assert.deepEqual(calls, [
      "multipass list --format csv",
      launchCall,
      "multipass list --format csv",
      waitCall,
    ]);
  });

  it("multipass missing: exits 1 saying what to install", () => {
    const h = scratchHost([]);
    const r = h.run("multipass-vm-launch.sh", vmEnv, userData);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      "multipass is not installed: install Multipass 1.11 or newer (https://multipass.run/install)\n",
    );
  });
});

describe("MultipassVm delete, info and arch scripts", () => {
  it("delete purges the VM; deleting again (or without multipass) is not an error", () => {
    const h = scratchHost(["multipass"]);
    assert.equal(h.run("multipass-vm-launch.sh", vmEnv, userData).status, 0);
    h.calls();
    const first = h.run("multipass-vm-delete.sh", { VM_NAME: "kube-01" });
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout, "deleted VM kube-01\n");
    assert.deepEqual(h.calls(), ["multipass list --format csv", "multipass delete --purge kube-01"]);
    assert.equal(fs.existsSync(path.join(h.state, "multipass/kube-01")), false);
    const again = h.run("multipass-vm-delete.sh", { VM_NAME: "kube-01" });
    assert.equal(again.status, 0);
    assert.equal(again.stdout, "VM kube-01 is already gone\n");
    assert.deepEqual(h.calls(), ["multipass list --format csv"]);
    const none = scratchHost([]).run("multipass-vm-delete.sh", { VM_NAME: "kube-01" });
    assert.equal(none.status, 0);
    assert.equal(none.stderr, "multipass is not installed: VM kube-01 cannot exist, nothing to delete\n");
  });

  it("info prints multipass's JSON, from which ipFromInfo takes info.<vm>.ipv4[0]", () => {
    const h = scratchHost(["multipass"]);
    assert.equal(h.run("multipass-vm-launch.sh", vmEnv, userData).status, 0);
    const r = h.run("multipass-vm-info.sh", { VM_NAME: "kube-01" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(ipFromInfo(r.stdout, "kube-01"), "192.168.64.2");
  });

  it("info of a VM that is gone exits 1 and says how to recover", () => {
    const r = scratchHost(["multipass"]).run("multipass-vm-info.sh", { VM_NAME: "kube-01" });
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      'info failed: The following errors occurred:\ninstance "kube-01" does not exist\n' +
        "cannot read VM kube-01 with multipass info: if it was deleted outside Pulumi, run pulumi up --refresh\n",
    );
  });

  it("ipFromInfo: exact errors for a VM without an address and for non-JSON", () => {
    assert.throws(() => ipFromInfo('{"info":{"kube-01":{"state":"Stopped","ipv4":[]}}}', "kube-01"), {
      message: "VM kube-01 has no IPv4 address (state Stopped): start it with multipass start kube-01",
    });
    assert.throws(() => ipFromInfo("oops", "kube-01"), {
      message: 'multipass info for VM kube-01 is not JSON: "oops"',
    });
  });

  it("arch prints dpkg's architecture", () => {
    const h = scratchHost(["multipass"]);
    assert.equal(h.run("multipass-vm-launch.sh", vmEnv, userData).status, 0);
    h.calls();
    const r = h.run("multipass-vm-arch.sh", { VM_NAME: "kube-01" });
    assert.equal(r.stdout, "arm64\n");
    assert.deepEqual(h.calls(), ["multipass exec kube-01 -- dpkg --print-architecture"]);
  });
});

const nodeCall =
  "multipass exec kube-01 -- sudo k3s kubectl get node kube-01 -o jsonpath=" +
  '{range .status.conditions[?(@.type=="Ready")]}{.status} {.reason}: {.message}{end}';

describe("K3sCluster kubeconfig script", () => {
  it("waits for the node, then prints exactly k3s.yaml on stdout (what it does goes to stderr)", () => {
    const h = scratchHost(["multipass"]);
    assert.equal(h.run("multipass-vm-launch.sh", vmEnv, userData).status, 0);
    h.calls();
    const r = h.run("k3s-kubeconfig.sh", { VM_NAME: "kube-01", READY_TIMEOUT_SECONDS: "600" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      fs.readFileSync(path.join(h.state, "multipass/kube-01/files/etc/rancher/k3s/k3s.yaml"), "utf8"),
    );
    assert.equal(r.stderr, "[kube-01] node kube-01 is Ready; reading its kubeconfig\n");
    assert.deepEqual(h.calls(), [nodeCall, "multipass exec kube-01 -- sudo cat /etc/rancher/k3s/k3s.yaml"]);
    const kc = load(rewriteKubeconfig(r.stdout, "kube-01", "192.168.64.2")) as any;
    assert.equal(kc.clusters[0].cluster.server, "https://192.168.64.2:6443");
  });

  it("a stopped VM fails at once (no wait), naming the VM, its state, Multipass's message and the fix", () => {
    const h = scratchHost(["multipass"]);
    assert.equal(h.run("multipass-vm-launch.sh", vmEnv, userData).status, 0);
    h.arrange("multipass", "stop", "kube-01");
    const r = h.run("k3s-kubeconfig.sh", { VM_NAME: "kube-01", READY_TIMEOUT_SECONDS: "600" });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      'cannot read node kube-01: VM kube-01 is Stopped (exec failed: instance "kube-01" is not running)\n' +
        "Start it with: multipass start kube-01, then run pulumi up again.\n",
    );
  });

  it("a node not Ready yet: a progress line per interval with its Ready condition, then the kubeconfig", () => {
    const h = scratchHost(["multipass"]);
    assert.equal(h.run("multipass-vm-launch.sh", vmEnv, userData).status, 0);
    fs.writeFileSync(path.join(h.state, "multipass/kube-01/node-not-ready"), "3\n");
    h.calls();
    const r = h.run("k3s-kubeconfig.sh", {
      VM_NAME: "kube-01",
      READY_TIMEOUT_SECONDS: "600",
      PROGRESS_INTERVAL_SECONDS: "1",
    });
    assert.equal(r.status, 0, r.stderr);
    const { progress, rest } = splitProgress(r.stderr);
    assert.ok(progress.length >= 1, r.stderr);
    for (const line of progress) {
      assert.match(
        line,
        /^\[kube-01\] waiting for node kube-01 to be Ready: \d+s of 600s \(False KubeletNotReady: container runtime network not ready: .*cni plugin not initialized\)\.\.\.$/,
      );
    }
    assert.deepEqual(rest, ["[kube-01] node kube-01 is Ready; reading its kubeconfig", ""]);
    assert.equal(h.calls().filter((c) => c === nodeCall).length, 4);
    assert.match(r.stdout, /^apiVersion: v1\n/);
  });

  it("a node never Ready: times out naming the node, its last Ready condition and the commands to look", () => {
    const h = scratchHost(["multipass"]);
    assert.equal(h.run("multipass-vm-launch.sh", vmEnv, userData).status, 0);
    fs.writeFileSync(path.join(h.state, "multipass/kube-01/node-not-ready"), "1000\n");
    const r = h.run("k3s-kubeconfig.sh", {
      VM_NAME: "kube-01",
      READY_TIMEOUT_SECONDS: "2",
      PROGRESS_INTERVAL_SECONDS: "1",
    });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.deepEqual(splitProgress(r.stderr).rest, [
      "node kube-01 was not Ready within 2s; last state: False KubeletNotReady: container runtime network not ready: " +
        "NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
      "Look with: multipass exec kube-01 -- sudo k3s kubectl get nodes -o wide",
      "  and: multipass exec kube-01 -- sudo tail -n 50 /var/log/cloud-init-output.log",
      "",
    ]);
  });
});

const mirrorEnv = {
  CONTAINER_NAME: "registry-docker.io",
  IMAGE: "registry:2.8.3",
  HOST_PORT: "5001",
  REMOTE_URL: "https://registry-1.docker.io",
};
const dockerMissing =
  "docker is not installed or its daemon is not running: install Docker, or set registryMirrorsEnabled=false\n";

describe("RegistryMirrors scripts against the docker stand-in", () => {
  it("first run: docker run of the pinned image, restart always, port and upstream from the environment", () => {
    const h = scratchHost(["docker"]);
    const r = h.run("registry-mirror-run.sh", mirrorEnv);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(h.calls(), [
      "docker info",
      "docker container inspect --format {{.State.Running}} registry-docker.io",
      "docker run -d --restart always --name registry-docker.io -p 5001:5000 -e REGISTRY_PROXY_REMOTEURL=https://registry-1.docker.io registry:2.8.3",
    ]);
    assert.equal(r.stdout, "started registry-docker.io on port 5001 for https://registry-1.docker.io\n");
    // Said before the (possibly long) first pull, on stderr.
    assert.equal(
      r.stderr,
      "[registry-docker.io] starting the cache (docker pulls registry:2.8.3 the first time)\n",
    );
  });

  it("re-run: adopts the running container without docker run", () => {
    const h = scratchHost(["docker"]);
    assert.equal(h.run("registry-mirror-run.sh", mirrorEnv).status, 0);
    h.calls();
    const r = h.run("registry-mirror-run.sh", mirrorEnv);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "adopting the running container registry-docker.io\n");
    assert.deepEqual(h.calls(), [
      "docker info",
      "docker container inspect --format {{.State.Running}} registry-docker.io",
    ]);
  });

  it("re-run on a stopped container: starts it", () => {
    const h = scratchHost(["docker"]);
    assert.equal(h.run("registry-mirror-run.sh", mirrorEnv).status, 0);
    h.arrange("docker", "stop", "registry-docker.io");
    const r = h.run("registry-mirror-run.sh", mirrorEnv);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "started the existing container registry-docker.io\n");
    assert.equal(h.calls()[2], "docker start registry-docker.io");
  });

  it("docker run failing: exits 1 naming the cache, its port and image, and the commands to look", () => {
    const h = scratchHost(["docker"]);
    // A container folder without state: inspect fails, then run conflicts with the name.
    fs.mkdirSync(path.join(h.state, "docker", "registry-docker.io"), { recursive: true });
    const r = h.run("registry-mirror-run.sh", mirrorEnv);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      [
        "[registry-docker.io] starting the cache (docker pulls registry:2.8.3 the first time)",
        'docker: Error response from daemon: Conflict. The container name "/registry-docker.io" is already in use.',
        "docker run of the registry cache registry-docker.io (port 5001, registry:2.8.3) failed (see above)",
        "Look with: docker ps -a --filter name=registry-docker.io",
        "  and: docker logs registry-docker.io",
        "",
      ].join("\n"),
    );
  });

  it("docker not installed, or its daemon down: exits 1 with the same clear message", () => {
    const missing = scratchHost([]).run("registry-mirror-run.sh", mirrorEnv);
    assert.equal(missing.status, 1);
    assert.equal(missing.stderr, dockerMissing);
    const down = scratchHost(["docker"]).run("registry-mirror-run.sh", {
      ...mirrorEnv,
      STANDIN_DOCKER_DAEMON: "down",
    });
    assert.equal(down.status, 1);
    assert.equal(down.stderr, dockerMissing);
  });

  it("delete: docker rm -f; without docker nothing to do; with its daemon down, a clear failure", () => {
    const h = scratchHost(["docker"]);
    assert.equal(h.run("registry-mirror-run.sh", mirrorEnv).status, 0);
    h.calls();
    const r = h.run("registry-mirror-delete.sh", { CONTAINER_NAME: "registry-docker.io" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(h.calls(), ["docker info", "docker rm -f registry-docker.io"]);
    assert.equal(fs.existsSync(path.join(h.state, "docker/registry-docker.io")), false);
    const none = scratchHost([]).run("registry-mirror-delete.sh", { CONTAINER_NAME: "registry-docker.io" });
    assert.equal(none.status, 0);
    assert.equal(
      none.stderr,
      "docker is not installed: container registry-docker.io cannot exist, nothing to remove\n",
    );
    const down = scratchHost(["docker"]).run("registry-mirror-delete.sh", {
      CONTAINER_NAME: "registry-docker.io",
      STANDIN_DOCKER_DAEMON: "down",
    });
    assert.equal(down.status, 1);
    assert.equal(
      down.stderr,
      "the docker daemon is not running: start Docker so that container registry-docker.io can be removed\n",
    );
  });
});

/** A kubeconfig holding the lab's contexts, made as KubeContexts makes it. */
function labKubeconfig(names: string[]): string {
  return mergeKubeconfigs(names.map((n) => rewriteKubeconfig(mockK3sYaml(n), n, "192.168.64.9")));
}

function kubeContexts(action: string, env: Record<string, string>): Result {
  const r = spawnSync(process.execPath, [path.join(projectDir, "scripts", "kube-contexts.js"), action], {
    env: { PATH: "/usr/bin:/bin", ...env },
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("KubeContexts script (scripts/kube-contexts.js)", () => {
  const others = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "work", cluster: { server: "https://work.example:6443" } },
      { name: "kube-01", cluster: { server: "https://192.168.64.200:6443" } },
    ],
    users: [
      { name: "work", user: { token: "work-token" } },
      { name: "kube-01", user: { token: "stale" } },
    ],
    contexts: [
      { name: "work", context: { cluster: "work", user: "work" } },
      { name: "kube-01", context: { cluster: "kube-01", user: "kube-01" } },
    ],
    "current-context": "work",
    preferences: { colors: true },
  };

  it("merge: replaces only the lab's entries, keeps the others and the current context, prints no secret", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "mpm-home-"));
    fs.mkdirSync(path.join(home, ".kube"));
    fs.writeFileSync(path.join(home, ".kube", "config"), JSON.stringify(others));
    const lab = labKubeconfig(["kube-00", "kube-01"]);
    const r = kubeContexts("merge", { HOME: home, KUBECONFIG_PATH: "~/.kube/config", LAB_KUBECONFIG: lab });
    assert.equal(r.status, 0, r.stderr);
    const file = path.join(home, ".kube", "config");
    assert.equal(r.stdout, `${JSON.stringify({ path: file, contexts: ["kube-00", "kube-01"] })}\n`);
    const doc = load(fs.readFileSync(file, "utf8")) as any;
    assert.deepEqual(
      doc.contexts.map((c: any) => c.name),
      ["work", "kube-00", "kube-01"],
    );
    assert.deepEqual(doc.clusters[0], others.clusters[0]);
    assert.deepEqual(doc.users[0], others.users[0]);
    assert.equal(doc.clusters[2].cluster.server, "https://192.168.64.9:6443");
    assert.equal(doc.users.find((u: any) => u.name === "kube-01").user.token, undefined);
    assert.equal(doc["current-context"], "work");
    assert.deepEqual(doc.preferences, { colors: true });
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it("merge into no file: creates it (0600) with the first lab context current", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "mpm-home-"));
    const r = kubeContexts("merge", {
      HOME: home,
      KUBECONFIG_PATH: "~/.kube/config",
      LAB_KUBECONFIG: labKubeconfig(["kube-00"]),
    });
    assert.equal(r.status, 0, r.stderr);
    const doc = load(fs.readFileSync(path.join(home, ".kube", "config"), "utf8")) as any;
    assert.equal(doc["current-context"], "kube-00");
    assert.equal(doc.kind, "Config");
  });

  it("merge after a cluster left the lab: its context (named in the previous run's stdout) goes too", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "mpm-home-"));
    const env = { HOME: home, KUBECONFIG_PATH: `${home}/kubeconfig` };
    const first = kubeContexts("merge", { ...env, LAB_KUBECONFIG: labKubeconfig(["kube-00", "kube-09"]) });
    const second = kubeContexts("merge", {
      ...env,
      LAB_KUBECONFIG: labKubeconfig(["kube-00"]),
      PULUMI_COMMAND_STDOUT: first.stdout,
    });
    assert.equal(second.status, 0, second.stderr);
    const doc = load(fs.readFileSync(`${home}/kubeconfig`, "utf8")) as any;
    assert.deepEqual(
      doc.contexts.map((c: any) => c.name),
      ["kube-00"],
    );
  });

  it("remove: takes out only the lab's entries and unsets a lab current context", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "mpm-home-"));
    const file = path.join(home, "config");
    fs.writeFileSync(file, JSON.stringify({ ...others, "current-context": "kube-01" }));
    const r = kubeContexts("remove", {
      HOME: home,
      KUBECONFIG_PATH: file,
      LAB_KUBECONFIG: labKubeconfig(["kube-01"]),
    });
    assert.equal(r.status, 0, r.stderr);
    const doc = load(fs.readFileSync(file, "utf8")) as any;
    assert.deepEqual(doc.contexts, [others.contexts[0]]);
    assert.deepEqual(doc.clusters, [others.clusters[0]]);
    assert.deepEqual(doc.users, [others.users[0]]);
    assert.equal(doc["current-context"], "");
  });

  it("bad input: exact messages", () => {
    const r = kubeContexts("merge", { KUBECONFIG_PATH: "/tmp/x", LAB_KUBECONFIG: "kind: Config\n" });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, "kube-contexts: LAB_KUBECONFIG holds no context\n");
    const bad = kubeContexts("sync", {
      KUBECONFIG_PATH: "/tmp/x",
      LAB_KUBECONFIG: labKubeconfig(["kube-00"]),
    });
    assert.equal(bad.stderr, 'kube-contexts: unknown action "sync": expected merge or remove\n');
  });
});
