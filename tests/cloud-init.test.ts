// The cluster VMs' user-data: valid for cloud-init, pinned, free of host addresses and keys; and its first-boot
// script run for real against stand-ins of the VM's tools (curl, ip, k3s, hostname).
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { load, loadAll } from "js-yaml";
import { installScript, type K3sUserDataArgs, renderK3sUserData, vmPaths } from "../cloud-init/k3s";
import { parseLabConfig } from "../config";
import { cloudInitSchema, requireTool, shellcheck } from "./validators";

interface UserData {
  write_files: { path: string; permissions: string; content: string }[];
  runcmd: string[][];
}

function parse(text: string): UserData {
  return load(text) as UserData;
}
function file(doc: UserData, at: string): string {
  const f = doc.write_files.find((w) => w.path === at);
  assert.ok(f, `no write_files entry for ${at}`);
  return f.content;
}

const cfg = parseLabConfig({});
function argsFor(name: string, overrides: Partial<K3sUserDataArgs> = {}): K3sUserDataArgs {
  const spec = cfg.clusters.find((c) => c.name === name);
  assert.ok(spec);
  return {
    clusterName: spec.name,
    podCidr: spec.podCidr,
    serviceCidr: spec.serviceCidr,
    k3sVersion: cfg.versions.k3s,
    calicoVersion: cfg.versions.calico,
    region: cfg.mesh.region,
    zone: cfg.mesh.zone,
    mirrors: cfg.registryMirrors.mirrors.map((m) => ({ upstream: m.upstream, port: m.port })),
    readyTimeoutSeconds: cfg.timeouts.vmLaunchSeconds,
    ...overrides,
  };
}

describe("k3s user-data", () => {
  it("every cluster's user-data passes `cloud-init schema`, with mirrors and without", () => {
    requireTool("cloud-init");
    for (const c of cfg.clusters) {
      for (const mirrors of [undefined, [{ upstream: "docker.io", port: 5001 }]]) {
        const text = renderK3sUserData(argsFor(c.name, { mirrors }));
        assert.equal(text.split("\n")[0], "#cloud-config");
        const r = cloudInitSchema(text);
        assert.ok(r.ok, `${c.name}: ${r.output}`);
      }
    }
  });

  it("pins k3s and Calico, has no host address (no 192.168.*) and no key or certificate", () => {
    for (const c of cfg.clusters) {
      const text = renderK3sUserData(argsFor(c.name));
      assert.deepEqual(parse(text).runcmd, [
        [
          "env",
          "K3S_VERSION=v1.25.16+k3s4",
          "CALICO_VERSION=v3.25.0",
          "READY_TIMEOUT_SECONDS=1800",
          "/usr/local/sbin/lab-k3s-install",
        ],
      ]);
      assert.doesNotMatch(text, /192\.168\./);
      assert.doesNotMatch(text, /BEGIN|PRIVATE KEY|ca-key|root-cert/);
      assert.doesNotMatch(text, /get\.k3s\.io/);
    }
    // The installer fetches the install script of the pinned tag and the operator manifest of the pinned release.
    assert.match(
      installScript,
      /https:\/\/raw\.githubusercontent\.com\/k3s-io\/k3s\/\$\{K3S_VERSION\/\/\+\/%2B\}\/install\.sh/,
    );
    assert.match(installScript, /INSTALL_K3S_VERSION=\$K3S_VERSION sh /);
    assert.match(
      installScript,
      /https:\/\/raw\.githubusercontent\.com\/projectcalico\/calico\/\$\{CALICO_VERSION\}\/manifests\/tigera-operator\.yaml/,
    );
  });

  it("k3s config: flannel and network policy off, traefik disabled, the spec's CIDRs, topology labels", () => {
    const doc = parse(
      renderK3sUserData(argsFor("kube-02", { podCidr: "10.52.0.0/16", serviceCidr: "10.53.0.0/16" })),
    );
    assert.deepEqual(load(file(doc, vmPaths.k3sConfig)), {
      "flannel-backend": "none",
      "disable-network-policy": true,
      disable: ["traefik"],
      "cluster-cidr": "10.52.0.0/16",
      "service-cidr": "10.53.0.0/16",
      "node-label": [
        "topology.kubernetes.io/region=milky-way",
        "topology.kubernetes.io/zone=solar-system",
        "topology.istio.io/subzone=kube-02",
      ],
    });
    assert.equal(doc.write_files.find((w) => w.path === vmPaths.k3sConfig)?.permissions, "0600");
  });

  it("Calico: the original Installation with the spec's pod CIDR, and the APIServer", () => {
    const doc = parse(renderK3sUserData(argsFor("kube-01", { podCidr: "10.52.0.0/16" })));
    assert.deepEqual(loadAll(file(doc, vmPaths.calico)), [
      {
        apiVersion: "operator.tigera.io/v1",
        kind: "Installation",
        metadata: { name: "default" },
        spec: {
          calicoNetwork: {
            containerIPForwarding: "Enabled",
            ipPools: [
              {
                blockSize: 26,
                cidr: "10.52.0.0/16",
                encapsulation: "VXLANCrossSubnet",
                natOutgoing: "Enabled",
                nodeSelector: "all()",
              },
            ],
          },
        },
      },
      { apiVersion: "operator.tigera.io/v1", kind: "APIServer", metadata: { name: "default" }, spec: {} },
    ]);
  });

  it("registry mirrors: plain-http endpoints at the gateway placeholder; no template when there are none", () => {
    const doc = parse(renderK3sUserData(argsFor("kube-00")));
    assert.deepEqual(load(file(doc, vmPaths.registriesTemplate)), {
      mirrors: {
        "docker.io": { endpoint: ["http://@GATEWAY@:5001"] },
        "quay.io": { endpoint: ["http://@GATEWAY@:5002"] },
        "ghcr.io": { endpoint: ["http://@GATEWAY@:5003"] },
      },
    });
    const none = parse(renderK3sUserData(argsFor("kube-00", { mirrors: [] })));
    assert.equal(
      none.write_files.some((w) => w.path === vmPaths.registriesTemplate),
      false,
    );
  });

  it("the first-boot script in the user-data is cloud-init/k3s-install.sh, passes shellcheck, runs as root", () => {
    const doc = parse(renderK3sUserData(argsFor("kube-00")));
    const installer = doc.write_files.find((w) => w.path === vmPaths.installer);
    assert.equal(
      installer?.content,
      fs.readFileSync(path.join(__dirname, "..", "cloud-init", "k3s-install.sh"), "utf8"),
    );
    assert.equal(installer?.permissions, "0755");
    const r = shellcheck(installScript, "k3s-install.sh");
    assert.ok(r.ok, r.output);
  });
});

/** Materializes the user-data's files under a scratch root and runs its runcmd against the VM stand-ins. */
function firstBoot(userData: string, env: Record<string, string>) {
  const doc = parse(userData);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "mpm-vm-"));
  const state = path.join(root, "state");
  fs.mkdirSync(state);
  for (const w of doc.write_files) {
    fs.mkdirSync(path.join(root, path.dirname(w.path)), { recursive: true });
    fs.writeFileSync(path.join(root, w.path), w.content, { mode: Number.parseInt(w.permissions, 8) });
  }
  const [envCmd, ...rest] = doc.runcmd[0];
  assert.equal(envCmd, "env");
  const values = Object.fromEntries(rest.slice(0, -1).map((kv) => kv.split(/=(.*)/s).slice(0, 2)));
  const r = spawnSync("/bin/bash", [path.join(root, rest[rest.length - 1])], {
    env: {
      PATH: `${path.join(__dirname, "stand-ins", "vm")}:/usr/bin:/bin`,
      STANDIN_STATE: state,
      STANDIN_HOSTNAME: "kube-01",
      K3S_CONFIG_DIR: path.join(root, "etc/rancher/k3s"),
      LAB_DIR: path.join(root, "etc/lab"),
      ...values,
      ...env,
    },
    encoding: "utf8",
  });
  const calls = fs.readFileSync(path.join(state, "calls.log"), "utf8").trim().split("\n");
  return { ...r, root, calls };
}

/** How first boot reads the node's Ready condition (the k3s stand-in answers it). */
const nodeCall =
  "k3s kubectl get node kube-01 -o jsonpath=" +
  '{range .status.conditions[?(@.type=="Ready")]}{.status} {.reason}: {.message}{end}';

describe("k3s first boot (cloud-init/k3s-install.sh) against stand-ins", () => {
  it("points the mirrors at the VM's default gateway, installs the pinned k3s, then Calico, then waits", () => {
    for (const gateway of ["192.168.64.1", "10.97.204.1"]) {
      const r = firstBoot(renderK3sUserData(argsFor("kube-01")), { STANDIN_GATEWAY: gateway });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(load(fs.readFileSync(path.join(r.root, "etc/rancher/k3s/registries.yaml"), "utf8")), {
        mirrors: {
          "docker.io": { endpoint: [`http://${gateway}:5001`] },
          "quay.io": { endpoint: [`http://${gateway}:5002`] },
          "ghcr.io": { endpoint: [`http://${gateway}:5003`] },
        },
      });
      const work = /-o (\S+)\/install-k3s\.sh/.exec(r.calls[1])?.[1];
      assert.deepEqual(
        r.calls.map((c) => c.replaceAll(work ?? "@", "$WORK").replaceAll(r.root, "$ROOT")),
        [
          "ip -4 route show default",
          "curl -fsSL -o $WORK/install-k3s.sh https://raw.githubusercontent.com/k3s-io/k3s/v1.25.16%2Bk3s4/install.sh",
          "install.sh INSTALL_K3S_VERSION=v1.25.16+k3s4",
          "curl -fsSL -o $WORK/tigera-operator.yaml https://raw.githubusercontent.com/projectcalico/calico/v3.25.0/manifests/tigera-operator.yaml",
          "k3s kubectl apply --server-side --force-conflicts -f $WORK/tigera-operator.yaml",
          "k3s kubectl wait --for=condition=established --timeout=60s crd/installations.operator.tigera.io crd/apiservers.operator.tigera.io",
          "k3s kubectl apply -f $ROOT/etc/lab/calico.yaml",
          nodeCall,
        ],
      );
      // Each step is said in /var/log/cloud-init-output.log (the host's launch shows its last line).
      assert.equal(
        r.stdout,
        [
          `k3s-install: registry mirrors at ${gateway}`,
          "k3s-install: installing k3s v1.25.16+k3s4",
          "k3s-install: installing Calico v3.25.0 (tigera operator)",
          "k3s-install: waiting for node kube-01 to be Ready (Calico's pods start first)",
          "k3s-install: node kube-01 is Ready",
          "",
        ].join("\n"),
      );
    }
  });

  it("a node slow to be Ready: a progress line per interval with its Ready condition (not registered, then False)", () => {
    const r = firstBoot(renderK3sUserData(argsFor("kube-01")), {
      STANDIN_GATEWAY: "192.168.64.1",
      STANDIN_NODE_READY_POLLS: "3",
      PROGRESS_INTERVAL_SECONDS: "1",
    });
    assert.equal(r.status, 0, r.stderr);
    const progress = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("k3s-install: waiting for node kube-01 to be Ready: "));
    assert.ok(progress.length >= 1, r.stdout);
    for (const line of progress) {
      assert.match(
        line,
        /^k3s-install: waiting for node kube-01 to be Ready: \d+s of 1800s \((not registered yet|False KubeletNotReady: container runtime network not ready: NetworkReady=false)\)\.\.\.$/,
      );
    }
    assert.equal(r.calls.filter((c) => c === nodeCall).length, 4);
    assert.match(r.stdout, /k3s-install: node kube-01 is Ready\n$/);
  });

  it("a node never Ready: fails naming the node, its last Ready condition and the commands to look", () => {
    const r = firstBoot(renderK3sUserData(argsFor("kube-01")), {
      STANDIN_GATEWAY: "192.168.64.1",
      STANDIN_NODE_READY_POLLS: "never",
      READY_TIMEOUT_SECONDS: "2",
      PROGRESS_INTERVAL_SECONDS: "1",
    });
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      [
        "k3s-install: node kube-01 was not Ready within 2s; last state: False KubeletNotReady: container runtime network not ready: NetworkReady=false",
        "k3s-install: look with: multipass exec kube-01 -- sudo k3s kubectl get nodes -o wide",
        "k3s-install:   and: multipass exec kube-01 -- sudo k3s kubectl get pods -A",
        "",
      ].join("\n"),
    );
  });

  it("without mirrors, no registries.yaml and no gateway lookup", () => {
    const r = firstBoot(renderK3sUserData(argsFor("kube-01", { mirrors: [] })), {});
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.existsSync(path.join(r.root, "etc/rancher/k3s/registries.yaml")), false);
    assert.equal(r.calls[0].startsWith("curl "), true);
  });

  it("no default route: fails before installing anything, saying why", () => {
    const r = firstBoot(renderK3sUserData(argsFor("kube-01")), { STANDIN_GATEWAY: "" });
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      "k3s-install: no default route: cannot find the host that serves the registry mirrors; look with: ip route\n",
    );
    assert.deepEqual(r.calls, ["ip -4 route show default"]);
  });
});
