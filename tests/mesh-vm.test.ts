// Proves the mesh VM: its user-data (valid cloud-init, go-httpbin and the sidecar package), its scripts (pass
// shellcheck, run for real against stand-ins, idempotent), and its place in the lab's graph (launched early,
// enrolled after its cluster's Istio and WorkloadGroup, token never in Pulumi's hands).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as yaml from "js-yaml";
import { meshVmPaths, renderMeshVmUserData } from "../cloud-init/mesh-vm";
import { workloadEntryName } from "../components/mesh-vm";
import { script } from "../components/shell";
import { dependsOn, find, type LabRun, ofType, runLab } from "./harness";
import { mockVmIp } from "./mock-outputs";
import { scratchHost, scratchVm } from "./scratch-host";
import { cloudInitSchema, requireTool, shellcheck } from "./validators";

const fixture = (f: string) => fs.readFileSync(path.join(__dirname, "fixtures", f), "utf8");
/** The Argo CD Application CR of an ArgoApplication (what Pulumi waits on until Synced and Healthy). */
const app = (run: LabRun, name: string) =>
  find(run, "kubernetes:argoproj.io/v1alpha1:Application", `${name}-application`);
const userDataArgs = { goHttpbinVersion: "v1.4.0", istioVersion: "1.16.2", httpbinPort: 8080 };

describe("mesh VM user-data", () => {
  test("is valid cloud-config: go-httpbin as a unit with HOSTNAME on the group's port, the sidecar package", () => {
    requireTool("cloud-init");
    const text = renderMeshVmUserData(userDataArgs);
    const r = cloudInitSchema(text);
    assert.ok(r.ok, r.output);
    const doc = yaml.load(text) as any;
    assert.equal(doc.manage_etc_hosts, false, "cloud-init must not rewrite /etc/hosts (istiod's line)");
    assert.deepEqual(doc.packages, ["golang-go", "git", "curl", "net-tools"]);
    const files = Object.fromEntries(doc.write_files.map((f: any) => [f.path, f]));
    const unit = files[meshVmPaths.httpbinUnit].content as string;
    assert.match(unit, /^Environment=HOSTNAME=%H$/m);
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/go-httpbin -port 8080$/m);
    assert.match(unit, /^WantedBy=multi-user.target$/m);
    assert.equal(files[meshVmPaths.sidecarInstaller].content, script("mesh-vm-sidecar.sh"));
    assert.equal(files[meshVmPaths.httpbinInstaller].content, script("mesh-vm-httpbin.sh"));
    // Values reach the scripts through the environment.
    assert.deepEqual(doc.runcmd, [
      ["env", "ISTIO_VERSION=1.16.2", meshVmPaths.sidecarInstaller],
      ["env", "GO_HTTPBIN_VERSION=v1.4.0", meshVmPaths.httpbinInstaller],
    ]);
    assert.doesNotMatch(text, /PRIVATE KEY|BEGIN CERTIFICATE|token/i, "nothing secret in user-data");
  });

  test("a bad port is refused", () => {
    assert.throws(() => renderMeshVmUserData({ ...userDataArgs, httpbinPort: 0 }), {
      message: "httpbinPort is 0: expected a port number",
    });
  });
});

describe("mesh scripts", () => {
  const scripts = [
    "mesh-vm-sidecar.sh",
    "mesh-vm-httpbin.sh",
    "mesh-vm-workload-group.sh",
    "mesh-vm-enroll.sh",
    "mesh-vm-setup.sh",
    "mesh-vm-unenroll.sh",
    "mesh-check.sh",
  ];
  test("pass shellcheck and follow the conventions (bash, set -euo pipefail)", () => {
    requireTool("shellcheck");
    for (const name of scripts) {
      const text = script(name);
      assert.ok(text.startsWith("#!/usr/bin/env bash\n"), `${name} starts with the bash shebang`);
      assert.match(text, /^set -euo pipefail$/m, `${name} sets -euo pipefail`);
      const r = shellcheck(text, name);
      assert.ok(r.ok, `${name}:\n${r.output}`);
    }
    for (const f of fs.readdirSync(path.join(__dirname, "stand-ins", "mesh-vm"))) {
      const r = shellcheck(fs.readFileSync(path.join(__dirname, "stand-ins", "mesh-vm", f), "utf8"), f);
      assert.ok(r.ok, `stand-in ${f}:\n${r.output}`);
    }
  });

  for (const [arch, deb] of [
    ["amd64", "istio-sidecar.deb"],
    ["arm64", "istio-sidecar-arm64.deb"],
  ]) {
    test(`sidecar on ${arch}: downloads ${deb} for the pinned release, installs it once`, () => {
      const vm = scratchVm();
      const first = vm.run("mesh-vm-sidecar.sh", { ISTIO_VERSION: "1.16.2", STANDIN_ARCH: arch });
      assert.equal(first.status, 0, first.stderr);
      const calls = vm.calls();
      const url = `https://storage.googleapis.com/istio-release/releases/1.16.2/deb/${deb}`;
      assert.ok(
        calls.some((c) => c.startsWith("curl ") && c.endsWith(url)),
        calls.join("\n"),
      );
      assert.ok(
        calls.some((c) => /^apt-get install -y \S+\/istio-sidecar(-arm64)?\.deb$/.test(c)),
        calls.join("\n"),
      );
      // The installed package is the one downloaded from that URL.
      assert.equal(fs.readFileSync(path.join(vm.state, "installed", "istio-sidecar"), "utf8").trim(), url);
      const again = vm.run("mesh-vm-sidecar.sh", { ISTIO_VERSION: "1.16.2", STANDIN_ARCH: arch });
      assert.equal(again.status, 0, again.stderr);
      assert.equal(again.stdout, `istio-sidecar 1.16.2 (${deb}) is already installed\n`);
      assert.ok(
        !vm.calls().some((c) => c.startsWith("curl ") || c.startsWith("apt-get ")),
        "nothing downloaded again",
      );
    });
  }

  test("sidecar on an architecture Istio does not package: fails saying so", () => {
    const vm = scratchVm();
    const r = vm.run("mesh-vm-sidecar.sh", { ISTIO_VERSION: "1.16.2", STANDIN_ARCH: "riscv64" });
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      "Istio publishes no sidecar package for architecture riscv64 (only amd64 and arm64)\n",
    );
  });

  test("go-httpbin: cloned at the tag, built with explicit Go caches, started; a re-run builds nothing", () => {
    const vm = scratchVm();
    const r = vm.run("mesh-vm-httpbin.sh", { GO_HTTPBIN_VERSION: "v1.4.0" });
    assert.equal(r.status, 0, r.stderr);
    const calls = vm.calls();
    assert.ok(
      calls.includes(
        `git clone --quiet --depth 1 --branch v1.4.0 https://github.com/chinaran/go-httpbin.git ${vm.root}/usr/local/src/go-httpbin`,
      ),
      calls.join("\n"),
    );
    assert.ok(calls.includes("go GOCACHE=/root/.cache/go-build pwd=go-httpbin"), calls.join("\n"));
    assert.ok(
      calls.includes(`go build -o ${vm.root}/usr/local/bin/go-httpbin ./cmd/go-httpbin`),
      calls.join("\n"),
    );
    assert.deepEqual(calls.slice(-2), ["systemctl daemon-reload", "systemctl enable --now httpbin.service"]);
    const again = vm.run("mesh-vm-httpbin.sh", { GO_HTTPBIN_VERSION: "v1.4.0" });
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(vm.calls(), ["systemctl daemon-reload", "systemctl enable --now httpbin.service"]);
  });

  test("setup in the VM: istiod's line added once, replaced when the gateway IP changes; files to istio-proxy", () => {
    const vm = scratchVm();
    fs.mkdirSync(path.join(vm.root, "etc"), { recursive: true });
    fs.mkdirSync(path.join(vm.root, "var/lib/mesh-vm"), { recursive: true });
    fs.mkdirSync(path.join(vm.state, "installed"));
    fs.writeFileSync(path.join(vm.state, "installed", "istio-sidecar"), "");
    const hosts = path.join(vm.root, "etc/hosts");
    fs.writeFileSync(hosts, "127.0.0.1 localhost\n127.0.1.1 virt-01 virt-01\n");
    fs.writeFileSync(path.join(vm.root, "var/lib/mesh-vm/hosts"), "192.168.64.3 istiod.kube-01\n");
    for (let i = 0; i < 2; i++) {
      const r = vm.run("mesh-vm-setup.sh", {});
      assert.equal(r.status, 0, r.stderr);
      assert.equal(
        fs.readFileSync(hosts, "utf8"),
        "127.0.0.1 localhost\n127.0.1.1 virt-01 virt-01\n192.168.64.3 istiod.kube-01\n",
      );
    }
    const calls = vm.calls();
    assert.ok(
      calls.includes(
        `chown -R istio-proxy ${vm.root}/etc/certs ${vm.root}/var/run/secrets/tokens ${vm.root}/var/lib/istio ${vm.root}/etc/istio/config ${vm.root}/etc/istio/proxy`,
      ),
    );
    assert.deepEqual(calls.slice(-2), ["systemctl enable istio", "systemctl restart istio"]);
    fs.writeFileSync(path.join(vm.root, "var/lib/mesh-vm/hosts"), "192.168.64.9 istiod.kube-01\n");
    assert.equal(vm.run("mesh-vm-setup.sh", {}).status, 0);
    assert.equal(
      fs.readFileSync(hosts, "utf8"),
      "127.0.0.1 localhost\n127.0.1.1 virt-01 virt-01\n192.168.64.9 istiod.kube-01\n",
    );
  });

  test("setup in the VM without the sidecar package: fails pointing at first boot", () => {
    const vm = scratchVm();
    const r = vm.run("mesh-vm-setup.sh", {});
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      "istio-sidecar is not installed: the VM's first boot did not finish (see /var/log/cloud-init-output.log)\n",
    );
  });

  test("enroll from the host: files in place with their modes, a fresh token never printed; re-run is the same", () => {
    const h = scratchHost();
    h.launch("kube-01");
    h.launch("virt-01");
    const env = {
      VM: "virt-01",
      CLUSTER: "kube-01",
      NAMESPACE: "httpbin",
      SERVICE_ACCOUNT: "httpbin",
      TOKEN_DURATION: "3600s",
      CLUSTER_ENV: "CA_ADDR='istiod.kube-01:15012'\n",
      MESH_YAML: "defaultConfig:\n  discoveryAddress: istiod.kube-01:15012\n",
      ROOT_CERT: fixture("root-cert.pem"),
      HOSTS: "192.168.64.2 istiod.kube-01\n",
      VM_SETUP: script("mesh-vm-setup.sh"),
    };
    for (let i = 0; i < 2; i++) {
      const r = h.run("mesh-vm-enroll.sh", env);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /stand-in-token/, "the token is never printed");
      assert.equal(
        r.stdout,
        "istio (re)started\nVM virt-01 enrolled in the mesh through kube-01 as httpbin/httpbin\n",
      );
      // Each step is named on stderr as it starts.
      assert.equal(
        r.stderr,
        [
          "[virt-01] minting a bootstrap token for httpbin/httpbin in cluster kube-01",
          "[virt-01] writing the enrollment files",
          "[virt-01] (re)starting its istio sidecar",
          "",
        ].join("\n"),
      );
      const files = path.join(h.vmDir("virt-01"), "files");
      const want: [string, string, number][] = [
        ["/etc/certs/root-cert.pem", env.ROOT_CERT, 0o644],
        [
          "/var/run/secrets/tokens/istio-token",
          "eyJhbGciOiJSUzI1NiJ9.stand-in-token-of-httpbin-httpbin.c2ln",
          0o600,
        ],
        ["/var/lib/istio/envoy/cluster.env", env.CLUSTER_ENV, 0o644],
        ["/etc/istio/config/mesh", env.MESH_YAML, 0o644],
        ["/var/lib/mesh-vm/hosts", env.HOSTS, 0o644],
        ["/usr/local/sbin/mesh-vm-setup", env.VM_SETUP, 0o755],
      ];
      for (const [p, content, mode] of want) {
        assert.equal(fs.readFileSync(path.join(files, p), "utf8"), content, p);
        assert.equal(fs.statSync(path.join(files, p)).mode & 0o777, mode, `${p} mode`);
      }
      const calls = h.calls();
      assert.equal(
        calls[0],
        "multipass exec kube-01 -- sudo k3s kubectl -n httpbin create token httpbin --audience istio-ca --duration 3600s",
      );
      assert.equal(calls.at(-1), "multipass exec virt-01 -- sudo /usr/local/sbin/mesh-vm-setup");
    }
  });

  const badEnroll = {
    VM: "virt-01",
    CLUSTER: "kube-01",
    NAMESPACE: "httpbin",
    SERVICE_ACCOUNT: "httpbin",
    TOKEN_DURATION: "3600s",
    CLUSTER_ENV: "x",
    MESH_YAML: "x",
    ROOT_CERT: "x",
    HOSTS: "x",
    VM_SETUP: "x",
  };

  test("enroll fails, writing nothing, when the cluster cannot mint the token: names it and where to look", () => {
    const h = scratchHost();
    h.launch("virt-01");
    const r = h.run("mesh-vm-enroll.sh", badEnroll);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      [
        "[virt-01] minting a bootstrap token for httpbin/httpbin in cluster kube-01",
        "exec failed: The following errors occurred:",
        'instance "kube-01" does not exist',
        "cluster kube-01 could not mint a token (see above) for service account httpbin/httpbin",
        "Look with: multipass exec kube-01 -- sudo k3s kubectl -n httpbin get serviceaccount httpbin",
        "",
      ].join("\n"),
    );
    assert.ok(!fs.existsSync(path.join(h.vmDir("virt-01"), "files", "etc/certs")));
  });

  test("enroll fails when the VM's setup fails: names the VM and the commands to look", () => {
    const h = scratchHost();
    h.launch("kube-01");
    h.launch("virt-01");
    const setupError =
      "istio-sidecar is not installed: the VM's first boot did not finish (see /var/log/cloud-init-output.log)\n";
    fs.writeFileSync(path.join(h.vmDir("virt-01"), "setup-error"), setupError);
    const r = h.run("mesh-vm-enroll.sh", badEnroll);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      [
        "[virt-01] minting a bootstrap token for httpbin/httpbin in cluster kube-01",
        "[virt-01] writing the enrollment files",
        "[virt-01] (re)starting its istio sidecar",
        setupError.trimEnd(),
        "enrolling VM virt-01 failed in mesh-vm-setup (see above)",
        "Look with: multipass exec virt-01 -- sudo tail -n 50 /var/log/istio/istio.log",
        "  and: multipass exec virt-01 -- sudo systemctl status istio --no-pager",
        "  and: multipass exec virt-01 -- sudo tail -n 50 /var/log/cloud-init-output.log",
        "",
      ].join("\n"),
    );
  });

  test("unenroll: stops the sidecar and deletes the WorkloadEntry; tolerates VMs already gone", () => {
    const h = scratchHost();
    h.launch("kube-01");
    h.launch("virt-01");
    const env = {
      VM: "virt-01",
      CLUSTER: "kube-01",
      NAMESPACE: "httpbin",
      ENTRY: "httpbin-192.168.64.3-vm-network",
    };
    const r = h.run("mesh-vm-unenroll.sh", env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(h.calls(), [
      "multipass info virt-01",
      "multipass exec virt-01 -- sudo systemctl disable --now istio",
      "multipass info kube-01",
      "multipass exec kube-01 -- sudo k3s kubectl -n httpbin delete workloadentry httpbin-192.168.64.3-vm-network --ignore-not-found",
    ]);
    const gone = scratchHost();
    const r2 = gone.run("mesh-vm-unenroll.sh", env);
    assert.equal(r2.status, 0, r2.stderr);
    assert.equal(
      r2.stdout,
      "VM virt-01 is gone: nothing to stop\ncluster kube-01 is gone: no WorkloadEntry to delete\n",
    );
  });

  test("reading the WorkloadGroup: the cluster's JSON, or the cluster's error", () => {
    const h = scratchHost();
    h.launch("kube-01");
    const env = { CLUSTER: "kube-01", NAMESPACE: "httpbin", GROUP: "httpbin" };
    const missing = h.run("mesh-vm-workload-group.sh", env);
    assert.equal(missing.status, 1);
    assert.equal(
      missing.stderr,
      'Error from server (NotFound): workloadgroups.networking.istio.io "httpbin" not found\n',
    );
    const dir = path.join(h.vmDir("kube-01"), "kube", "workloadgroup", "httpbin");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "httpbin.json"), fixture("workloadgroup-httpbin.json"));
    const r = h.run("mesh-vm-workload-group.sh", env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, fixture("workloadgroup-httpbin.json"));
  });
});

describe("MeshVm in the lab", () => {
  test("launched with no dependency on any cluster; enrolled after Istio and the WorkloadGroup, token-free", async () => {
    const run = await runLab();
    const launch = find(run, "command:local:Command", "virt-01-vm-launch");
    for (const r of ofType(run, "command:local:Command").filter((x) => /^kube-0\d-/.test(x.name))) {
      assert.ok(!dependsOn(run, launch, r), `the VM launch does not wait for ${r.name}`);
    }
    const wg = find(run, "command:local:Command", "virt-01-workload-group");
    const enroll = find(run, "command:local:Command", "virt-01-enroll");
    const kube01 = app(run, "kube-01-httpbin");
    const ewgw = app(run, "kube-01-istio-ewgw");
    assert.ok(dependsOn(run, wg, kube01), "the WorkloadGroup is read once the httpbin app is Healthy");
    assert.ok(dependsOn(run, enroll, ewgw), "enrollment waits for istiod and the east-west gateway");
    assert.ok(dependsOn(run, enroll, wg));
    assert.ok(!dependsOn(run, enroll, app(run, "kube-02-istio-ewgw")));
    assert.equal(enroll.deleteBeforeReplace, true);
    assert.equal(enroll.inputs.create, script("mesh-vm-enroll.sh"));
    assert.equal(enroll.inputs.update, script("mesh-vm-enroll.sh"));
    assert.equal(enroll.inputs.delete, script("mesh-vm-unenroll.sh"));
    // Re-enrolled when the VM, the cluster (its service accounts) or the root CA changes.
    assert.deepEqual(enroll.inputs.triggers.slice(0, 2), ["virt-01-vm-launch-id", "kube-01-vm-launch-id"]);
    assert.match(enroll.inputs.triggers[2], /CERTIFICATE/);
    const e = enroll.inputs.environment;
    const ip = mockVmIp("kube-01");
    assert.equal(e.HOSTS, `${ip} istiod.kube-01\n`);
    assert.match(e.CLUSTER_ENV, /^CA_ADDR='istiod.kube-01:15012'$/m);
    assert.match(e.CLUSTER_ENV, /^ISTIO_META_NETWORK='vm-network'$/m);
    assert.match(e.MESH_YAML, /discoveryAddress: istiod.kube-01:15012/);
    assert.equal(e.ROOT_CERT, enroll.inputs.triggers[2]);
    assert.equal(e.SERVICE_ACCOUNT, "httpbin");
    assert.equal(e.ENTRY, workloadEntryName("httpbin", mockVmIp("virt-01"), "vm-network"));
    assert.ok(
      !Object.values(e).some((v) => /token-of|eyJ/.test(String(v))),
      "no token in the command's inputs",
    );
  });

  test("a second VM enrolled through kube-02 gets kube-02's istiod and gateway, and joins the mesh check", async () => {
    const run = await runLab({
      config: {
        meshVms: [
          { name: "virt-01", cluster: "kube-01" },
          { name: "virt-02", cluster: "kube-02" },
        ],
      },
    });
    const enroll = find(run, "command:local:Command", "virt-02-enroll");
    assert.equal(enroll.inputs.environment.CLUSTER, "kube-02");
    assert.equal(enroll.inputs.environment.HOSTS, `${mockVmIp("kube-02")} istiod.kube-02\n`);
    assert.match(enroll.inputs.environment.CLUSTER_ENV, /^ISTIO_META_CLUSTER_ID='kube-02'$/m);
    assert.ok(dependsOn(run, enroll, app(run, "kube-02-istio-ewgw")));
    assert.equal(
      find(run, "command:local:Command", "mesh-check-run").inputs.environment.VM_CLIENTS,
      "virt-01 virt-02",
    );
    assert.deepEqual(
      run.outputs.meshVms.map((v: any) => v.workloadEntry),
      [
        `httpbin/httpbin-${mockVmIp("virt-01")}-vm-network`,
        `httpbin/httpbin-${mockVmIp("virt-02")}-vm-network`,
      ],
    );
    assert.deepEqual(Object.keys(run.outputs.meshCheck.tally), ["kube-01", "kube-02", "virt-01", "virt-02"]);
  });

  test("preview: the VM files are unknown, nothing throws", async () => {
    const run = await runLab({ preview: true });
    const enroll = find(run, "command:local:Command", "virt-01-enroll");
    assert.ok(
      enroll.unknownInputPaths.includes("environment.CLUSTER_ENV"),
      enroll.unknownInputPaths.join(", "),
    );
  });
});
