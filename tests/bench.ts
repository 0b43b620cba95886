// npm run bench: how long the program takes to evaluate under mocks as the topology grows, and how deep
// its dependency graph is. A benchmark, not a test: it prints numbers and exits 0.
import { longestChain } from "./graph";
import { runLab } from "./harness";

function topology(workloads: number) {
  const pad = (i: number) => String(i).padStart(2, "0");
  return {
    clusters: [
      { name: "kube-00", role: "management" },
      ...Array.from({ length: workloads }, (_, i) => ({
        name: `kube-${pad(i + 1)}`,
        role: "workload",
        network: `network${i + 1}`,
      })),
    ],
    meshVms: [{ name: "virt-01", cluster: "kube-01" }],
  };
}

async function main() {
  // tsx maps every stack trace through source maps; Pulumi captures one per promise, which would dominate.
  process.setSourceMapsEnabled(false);
  await runLab(); // warm-up: module loading is not the program's cost
  const rows: { name: string; ms: number; resources: number; chain: number }[] = [];
  for (const [name, config] of [
    ["default (2 workload clusters)", {}],
    ["10 workload clusters", topology(10)],
    ["30 workload clusters", topology(30)],
  ] as const) {
    const start = process.hrtime.bigint();
    const run = await runLab({ config });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    rows.push({ name, ms, resources: run.registrations.length, chain: longestChain(run).length });
  }
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(30)} ${r.ms.toFixed(0).padStart(6)} ms  ${String(r.resources).padStart(5)} resources  longest chain ${r.chain}`,
    );
  }
  const ratio = rows[2].ms / rows[0].ms;
  const perResource = rows.map((r) => (r.ms / r.resources).toFixed(1)).join(" / ");
  console.log(
    `30 clusters / default: ${ratio.toFixed(1)}x the time for ${(rows[2].resources / rows[0].resources).toFixed(1)}x the resources`,
  );
  console.log(
    `per resource: ${perResource} ms (remote secrets are one per ordered pair of clusters: n(n-1))`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
