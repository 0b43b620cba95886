// Proves the mesh check: its judgement on recorded outputs (a working mesh, a failing client, a sidecar that
// misses a cluster), scripts/mesh-check.sh run for real against the multipass stand-in, and its place at the
// end of `up` with the tally and endpoint view as stack outputs.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import {
  checkEnvironment,
  judge,
  MeshCheckError,
  type MeshCheckPlan,
  parseCollected,
  runJudgement,
  tallyText,
} from "../components/mesh-check-logic";
import { dependsOn, find, type LabRun, ofType, runLab } from "./harness";
import { scratchHost } from "./scratch-host";

const fixture = (f: string) => fs.readFileSync(path.join(__dirname, "fixtures", f), "utf8");
const plan: MeshCheckPlan = {
  service: { namespace: "httpbin", name: "httpbin", port: 80 },
  requests: 20,
  clusters: [
    { name: "kube-01", podCidr: "10.42.0.0/16" },
    { name: "kube-02", podCidr: "10.42.0.0/16" },
  ],
  vms: [{ name: "virt-01", port: 8080 }],
  gatewayPort: 15443,
};

describe("mesh check judgement (recorded outputs)", () => {
  test("a working mesh: tally per client, every client's endpoints named by owner", () => {
    const report = runJudgement(plan, fixture("mesh-check-ok.txt"));
    assert.deepEqual(report.failures, []);
    assert.deepEqual(report.tally, {
      "kube-01": { "httpbin-6d9c7f5b8-4xkqz": 10, "httpbin-6d9c7f5b8-9vwtn": 10 },
      "kube-02": { "httpbin-7f4d8b6c9-s8rjd": 10, "httpbin-7f4d8b6c9-h2lmp": 10 },
      "virt-01": {
        "httpbin-6d9c7f5b8-9vwtn": 6,
        "httpbin-6d9c7f5b8-4xkqz": 6,
        "httpbin-7f4d8b6c9-h2lmp": 4,
        "httpbin-7f4d8b6c9-s8rjd": 4,
      },
    });
    assert.deepEqual(report.endpoints, {
      "kube-01": [
        "10.42.179.4:8080 kube-01 pod",
        "10.42.179.5:8080 kube-01 pod",
        "192.168.64.4:15443 kube-02 east-west gateway",
        "192.168.64.5:8080 virt-01",
      ],
      "kube-02": [
        "10.42.88.131:8080 kube-02 pod",
        "10.42.88.132:8080 kube-02 pod",
        "192.168.64.3:15443 kube-01 east-west gateway",
        "192.168.64.5:8080 virt-01",
      ],
      "virt-01": [
        "192.168.64.3:15443 kube-01 east-west gateway",
        "192.168.64.4:15443 kube-02 east-west gateway",
        "192.168.64.5:8080 virt-01",
      ],
    });
    assert.deepEqual(report.ips, {
      "kube-01": "192.168.64.3",
      "kube-02": "192.168.64.4",
      "virt-01": "192.168.64.5",
    });
    assert.equal(
      tallyText(report.tally["virt-01"]),
      "      6 httpbin-6d9c7f5b8-9vwtn\n      6 httpbin-6d9c7f5b8-4xkqz\n      4 httpbin-7f4d8b6c9-h2lmp\n      4 httpbin-7f4d8b6c9-s8rjd",
    );
  });

  test("answers from one cluster only are fine (locality load balancing)", () => {
    const report = judge(plan, parseCollected(fixture("mesh-check-ok.txt")));
    assert.deepEqual(
      Object.keys(report.tally["kube-01"]).filter((h) => h.startsWith("httpbin-7f4d")),
      [],
    );
    assert.deepEqual(report.failures, []);
  });

  test("a client whose requests fail and a sidecar that misses a cluster: one exact line each", () => {
    assert.throws(
      () => runJudgement(plan, fixture("mesh-check-failing.txt")),
      (e: unknown) => {
        assert.ok(e instanceof MeshCheckError);
        assert.equal(
          e.message,
          [
            "mesh check failed:",
            "  - kube-02 (sleep pod), GET httpbin/get: request 3 of 20 got HTTP 503: no healthy upstream; " +
              "request 10 of 20 got HTTP 503: no healthy upstream; " +
              "request 16 of 20 got no HTTP answer (curl could not connect or timed out)",
            "  - virt-01 (VM), Envoy /clusters: outbound|80||httpbin.httpbin.svc.cluster.local has no endpoint of " +
              "kube-02 (want 192.168.64.4:15443, its east-west gateway); it has 192.168.64.3:15443, 192.168.64.5:8080",
          ].join("\n"),
        );
        // The passing clients are still tallied.
        assert.equal(
          e.report.tally["kube-02"]["httpbin-7f4d8b6c9-s8rjd"] +
            e.report.tally["kube-02"]["httpbin-7f4d8b6c9-h2lmp"],
          17,
        );
        return true;
      },
    );
  });

  test("a client that cannot be reached, an answer without HOSTNAME, a missing own-cluster endpoint", () => {
    const text = fixture("mesh-check-ok.txt")
      // kube-01's sleep pod is gone.
      .replace(
        /### client kube-01 requests\n[\s\S]*?### exit 0\n/,
        '### client kube-01 requests\nError from server (NotFound): deployments.apps "sleep" not found\n### exit 1\n',
      )
      // kube-02's sidecar lost its local pods.
      .replaceAll(
        /^outbound\|80\|\|httpbin\.httpbin\.svc\.cluster\.local::10\.42\.88\.13[12]:8080::.*\n/gm,
        "",
      )
      // virt-01's first answer comes from something that is not go-httpbin with HOSTNAME.
      .replace(
        /(### client virt-01 requests\n### answer 1\n)\{[\s\S]*?\n\}\n/,
        '$1{"args":{},"url":"http://httpbin/get"}\n',
      );
    const report = judge(plan, parseCollected(text));
    assert.deepEqual(report.failures, [
      'kube-01 (sleep pod), GET httpbin/get: the command failed (exit 1): Error from server (NotFound): deployments.apps "sleep" not found',
      "kube-02 (sleep pod), Envoy /clusters: outbound|80||httpbin.httpbin.svc.cluster.local has no endpoint of kube-02 (want a pod IP in 10.42.0.0/16, its own cluster); it has 192.168.64.3:15443, 192.168.64.5:8080",
      'virt-01 (VM), GET httpbin/get: request 1 of 20 has no .envs.HOSTNAME: {"args":{},"url":"http://httpbin/get"}',
    ]);
  });

  test("a VM that is not running: no IP, so the check says so instead of guessing", () => {
    const text = fixture("mesh-check-ok.txt").replace(
      /### client virt-01 info\n[\s\S]*?### exit 0\n/,
      '### client virt-01 info\ninfo failed: instance "virt-01" does not exist\n### exit 2\n',
    );
    const report = judge(plan, parseCollected(text));
    assert.deepEqual(report.failures, [
      "virt-01: multipass info gave no IPv4, so its endpoints cannot be checked (is the VM running?)",
    ]);
  });

  test("the script's environment comes from the plan", () => {
    assert.deepEqual(checkEnvironment(plan, 300), {
      CLUSTER_CLIENTS: "kube-01 kube-02",
      VM_CLIENTS: "virt-01",
      REQUESTS: "20",
      URL: "httpbin/get",
      NAMESPACE: "httpbin",
      ENVOY_CLUSTER: "outbound|80||httpbin.httpbin.svc.cluster.local",
      MIN_ENDPOINTS: "3",
      WAIT_SECONDS: "300",
    });
  });
});

describe("scripts/mesh-check.sh against the multipass stand-in", () => {
  test("collects answers and /clusters from every client; the judgement passes on what it collected", () => {
    const h = scratchHost();
    for (const vm of ["kube-00", "kube-01", "kube-02", "virt-01"]) h.launch(vm); // IPs .2 .3 .4 .5
    const clusters = parseCollected(fixture("mesh-check-ok.txt"));
    for (const client of ["kube-01", "kube-02", "virt-01"]) {
      const dir = h.vmDir(client);
      fs.writeFileSync(
        path.join(dir, "envoy-clusters"),
        `${clusters.get(client)?.clusters?.lines.join("\n")}\n`,
      );
      // The client's curl answers like go-httpbin behind the mesh (sh/bash run the loop for real).
      fs.mkdirSync(path.join(dir, "bin"));
      const host = client === "kube-02" ? "httpbin-7f4d8b6c9-h2lmp" : "httpbin-6d9c7f5b8-4xkqz";
      fs.writeFileSync(
        path.join(dir, "bin", "curl"),
        `#!/bin/sh\nprintf '{\\n  "envs": {\\n    "HOSTNAME": "${host}"\\n  }\\n}\\n\\n### status 200\\n'\n`,
        { mode: 0o755 },
      );
    }
    const r = h.run("mesh-check.sh", { ...checkEnvironment(plan, 0) });
    assert.equal(r.status, 0, r.stderr);
    const report = runJudgement(plan, r.stdout);
    assert.deepEqual(report.tally, {
      "kube-01": { "httpbin-6d9c7f5b8-4xkqz": 20 },
      "kube-02": { "httpbin-7f4d8b6c9-h2lmp": 20 },
      "virt-01": { "httpbin-6d9c7f5b8-4xkqz": 20 },
    });
    const calls = h.calls();
    assert.ok(
      calls.includes(
        "multipass exec kube-01 -- sudo k3s kubectl -n httpbin exec -i deploy/sleep -c sleep -- sh -s 20 httpbin/get",
      ),
    );
    assert.ok(calls.includes("multipass exec virt-01 -- bash -s 20 httpbin/get"));
    assert.ok(
      calls.includes(
        "multipass exec kube-02 -- sudo k3s kubectl -n httpbin exec -i deploy/sleep -c istio-proxy -- curl -s localhost:15000/clusters",
      ),
    );
    assert.ok(calls.includes("multipass exec virt-01 -- curl -s localhost:15000/clusters"));
  });

  test("a client whose curl cannot connect and whose sidecar knows nothing: collected, judged, not a script error", () => {
    const h = scratchHost();
    h.launch("kube-01");
    const dir = h.vmDir("kube-01");
    fs.writeFileSync(
      path.join(dir, "envoy-clusters"),
      "BlackHoleCluster::observability_name::BlackHoleCluster\n",
    );
    fs.mkdirSync(path.join(dir, "bin"));
    // curl -w still writes its status (000) when it cannot connect, and exits 7.
    fs.writeFileSync(path.join(dir, "bin", "curl"), "#!/bin/sh\nprintf '\\n### status 000\\n'\nexit 7\n", {
      mode: 0o755,
    });
    const r = h.run("mesh-check.sh", {
      ...checkEnvironment({ ...plan, clusters: [plan.clusters[0]], vms: [] }, 0),
    });
    assert.equal(r.status, 0, r.stderr);
    const report = judge({ ...plan, clusters: [plan.clusters[0]], vms: [] }, parseCollected(r.stdout));
    const noAnswer = (i: number) =>
      `request ${i} of 20 got no HTTP answer (curl could not connect or timed out)`;
    assert.deepEqual(report.failures, [
      `kube-01 (sleep pod), GET httpbin/get: ${noAnswer(1)}; ${noAnswer(2)}; ${noAnswer(3)} (and 17 more)`,
      "kube-01 (sleep pod), Envoy /clusters: outbound|80||httpbin.httpbin.svc.cluster.local has no endpoint of kube-01 (want a pod IP in 10.42.0.0/16, its own cluster); it has none",
    ]);
    assert.deepEqual(report.tally, { "kube-01": {} });
  });
});

describe("scripts/mesh-check.sh progress", () => {
  test("a sidecar short of endpoints: a progress line per interval, then a note naming the client, what it has and where to look", () => {
    const h = scratchHost();
    h.launch("kube-01");
    const dir = h.vmDir("kube-01");
    fs.writeFileSync(
      path.join(dir, "envoy-clusters"),
      "outbound|80||httpbin.httpbin.svc.cluster.local::10.42.179.4:8080::health_flags::healthy\n",
    );
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "curl"), "#!/bin/sh\nprintf '\\n### status 000\\n'\nexit 7\n", {
      mode: 0o755,
    });
    // One endpoint listed, two wanted (as for a client with one other cluster in the mesh).
    const env = {
      ...checkEnvironment({ ...plan, clusters: [plan.clusters[0]], vms: [] }, 3),
      MIN_ENDPOINTS: "2",
    };
    const r = h.run("mesh-check.sh", { ...env, PROGRESS_INTERVAL_SECONDS: "1" });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.split("\n");
    const progress = lines.filter((l) => l.startsWith("[kube-01] waiting for "));
    assert.ok(progress.length >= 1, r.stderr);
    for (const line of progress) {
      assert.match(
        line,
        /^\[kube-01\] waiting for its sidecar to list 2 endpoints of outbound\|80\|\|httpbin\.httpbin\.svc\.cluster\.local: \d+s of 3s \(has 1\)\.\.\.$/,
      );
    }
    assert.deepEqual(
      lines.filter((l) => !l.startsWith("[kube-01] waiting for ")),
      [
        "[kube-01] its sidecar lists 1 of 2 endpoints of outbound|80||httpbin.httpbin.svc.cluster.local after 3s; " +
          "checking anyway. Look with: multipass exec kube-01 -- sudo k3s kubectl -n httpbin exec deploy/sleep " +
          "-c istio-proxy -- curl -s localhost:15000/clusters | grep -F 'outbound|80||httpbin.httpbin.svc.cluster.local::'",
        "[kube-01] sending 20 requests to httpbin/get",
        "",
      ],
    );
    // Still collected: the judgement, not the script, decides.
    assert.match(r.stdout, /^### client kube-01 info\n/);
  });
});

describe("MeshCheck in the lab", () => {
  const app = (run: LabRun, name: string) =>
    find(run, "kubernetes:argoproj.io/v1alpha1:Application", `${name}-application`);

  test("runs last: after every httpbin app and VM enrollment; httpbin waits for the remote secrets", async () => {
    const run = await runLab();
    const check = find(run, "command:local:Command", "mesh-check-run");
    for (const c of ["kube-01", "kube-02"]) assert.ok(dependsOn(run, check, app(run, `${c}-httpbin`)));
    assert.ok(dependsOn(run, check, find(run, "command:local:Command", "virt-01-enroll")));
    const remoteSecrets = ofType(run, "kubernetes:core/v1:Secret").filter((s) => /-reads-/.test(s.name));
    assert.equal(remoteSecrets.length, 2);
    for (const c of ["kube-01", "kube-02"]) {
      for (const s of remoteSecrets)
        assert.ok(dependsOn(run, app(run, `${c}-httpbin`), s), `${c}-httpbin after ${s.name}`);
    }
    assert.equal(check.inputs.logging, "stderr");
    assert.equal(check.inputs.environment.CLUSTER_CLIENTS, "kube-01 kube-02");
    assert.equal(check.inputs.environment.REQUESTS, "20");
    // The tally and endpoint view are stack outputs (mocked collection of a working mesh).
    assert.deepEqual(Object.keys(run.outputs.meshCheck), ["plan", "tally", "endpoints"]);
    assert.deepEqual(run.outputs.meshCheck.tally["virt-01"], { "httpbin-kube-01-5d8f9c7b6-x2k8p": 20 });
    assert.equal(run.outputs.meshCheck.endpoints["virt-01"].length, 3);
  });

  test("meshCheckEnabled false: no check", async () => {
    const run = await runLab({ config: { meshCheckEnabled: false } });
    assert.equal(ofType(run, "command:local:Command").filter((r) => r.name === "mesh-check-run").length, 0);
    assert.equal(run.outputs.meshCheck, undefined);
  });
});
