// `npm run graph`: the lab's component graph, from a mock run of the default topology, as a Mermaid flowchart in
// README.md (between the graph markers). Nodes are the program's top-level components (nested ones fold into
// their top-level ancestor); an edge A --> B says some resource of B waits on some resource of A (a dependency,
// a property dependency or its provider). Edges implied
// by a longer path are dropped (transitive reduction), so the picture shows the order things are built in.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Registration } from "./harness";

export const beginMarker = "<!-- graph:begin -->";
export const endMarker = "<!-- graph:end -->";
export const readmePath = path.resolve(__dirname, "..", "README.md");
const stackType = "pulumi:pulumi:Stack";
const clusterType = "multi-primary-mesh:index:K3sCluster";

export interface ComponentGraph {
  /** Top-level components by URN: short type (`K3sCluster`) and name. */
  nodes: Map<string, { type: string; name: string }>;
  /** `from` URN -> `to` URNs: `to` waits on `from`. */
  edges: Map<string, Set<string>>;
}

/** The top-level components and the dependencies between them, aggregated from every resource they own. */
export function componentGraph(registrations: Registration[]): ComponentGraph {
  const byUrn = new Map(registrations.map((r) => [r.urn, r]));
  const stackUrns = new Set(registrations.filter((r) => r.type === stackType).map((r) => r.urn));
  const nodes = new Map<string, { type: string; name: string }>();
  for (const r of registrations) {
    if (!r.custom && r.type !== stackType && (r.parent === "" || stackUrns.has(r.parent))) {
      nodes.set(r.urn, { type: r.type.split(":").pop() as string, name: r.name });
    }
  }
  // The top-level component a resource belongs to (itself for a top-level component).
  const ownerOf = (urn: string): string | undefined => {
    for (let at = byUrn.get(urn); at; at = byUrn.get(at.parent)) {
      if (nodes.has(at.urn)) return at.urn;
    }
    return undefined;
  };
  const edges = new Map<string, Set<string>>();
  for (const r of registrations) {
    const to = ownerOf(r.urn);
    if (!to) continue;
    // A resource also waits on its provider (`<provider URN>::<id>`): how in-cluster resources wait on a cluster.
    const provider = r.provider ? [r.provider.split("::").slice(0, -1).join("::")] : [];
    for (const dep of [...r.dependencies, ...Object.values(r.propertyDependencies).flat(), ...provider]) {
      const from = ownerOf(dep);
      if (!from || from === to) continue;
      edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  }
  return { nodes, edges };
}

/** Drops every edge u -> v that another path from u to v implies. Throws on a cycle (no unique reduction). */
export function transitiveReduction(edges: Map<string, Set<string>>): Map<string, Set<string>> {
  const succ = (u: string) => [...(edges.get(u) ?? [])];
  const state = new Map<string, "open" | "done">();
  const visit = (u: string, trail: string[]) => {
    if (state.get(u) === "done") return;
    if (state.get(u) === "open") throw new Error(`dependency cycle: ${[...trail, u].join(" -> ")}`);
    state.set(u, "open");
    for (const v of succ(u)) visit(v, [...trail, u]);
    state.set(u, "done");
  };
  for (const u of edges.keys()) visit(u, []);
  // Reachable from u through at least two edges: everything reachable from u's successors' successors.
  const reach = new Map<string, Set<string>>();
  const reachable = (u: string): Set<string> => {
    const known = reach.get(u);
    if (known) return known;
    const out = new Set<string>();
    for (const v of succ(u)) {
      out.add(v);
      for (const w of reachable(v)) out.add(w);
    }
    reach.set(u, out);
    return out;
  };
  const reduced = new Map<string, Set<string>>();
  for (const [u, vs] of edges) {
    const implied = new Set([...vs].flatMap((v) => [...reachable(v)]));
    const kept = [...vs].filter((v) => !implied.has(v));
    if (kept.length > 0) reduced.set(u, new Set(kept));
  }
  return reduced;
}

const idOf = (name: string) => name.replace(/[^A-Za-z0-9]/g, "_");

/**
 * The graph as Mermaid, sorted by name throughout. A component named like a cluster (`kube-01`, `kube-01-…`) is
 * drawn inside that cluster's subgraph; the others stand outside.
 */
export function mermaid(graph: ComponentGraph, groupType = clusterType.split(":").pop() as string): string {
  const byName = [...graph.nodes.entries()].sort(([, a], [, b]) => a.name.localeCompare(b.name, "en"));
  const ids = new Map<string, string>();
  for (const [urn, n] of byName) {
    const id = idOf(n.name);
    if ([...ids.values()].includes(id)) throw new Error(`two components draw as node ${id}`);
    ids.set(urn, id);
  }
  const groups = byName.filter(([, n]) => n.type === groupType).map(([, n]) => n.name);
  const groupOf = (name: string) =>
    groups.filter((g) => name === g || name.startsWith(`${g}-`)).sort((a, b) => b.length - a.length)[0];
  const node = (urn: string, indent: string) => {
    const n = graph.nodes.get(urn) as { type: string; name: string };
    return `${indent}${ids.get(urn)}["${n.type}<br/>${n.name}"]`;
  };
  const lines = ["flowchart LR"];
  for (const g of groups) {
    lines.push(`  subgraph cluster_${idOf(g)}[${g}]`);
    for (const [urn, n] of byName) if (groupOf(n.name) === g) lines.push(node(urn, "    "));
    lines.push("  end");
  }
  for (const [urn, n] of byName) if (groupOf(n.name) === undefined) lines.push(node(urn, "  "));
  const reduced = transitiveReduction(graph.edges);
  const arrows = [...reduced].flatMap(([from, tos]) =>
    [...tos].map((to) => [ids.get(from) as string, ids.get(to) as string]),
  );
  arrows.sort(([a1, b1], [a2, b2]) => a1.localeCompare(a2, "en") || b1.localeCompare(b2, "en"));
  for (const [from, to] of arrows) lines.push(`  ${from} --> ${to}`);
  return `${lines.join("\n")}\n`;
}

/** The README block between the markers, markers included. */
export function graphBlock(chart: string): string {
  return `${beginMarker}\n\`\`\`mermaid\n${chart}\`\`\`\n${endMarker}`;
}

/** README text with the block replaced, or appended under its own section when the markers are missing. */
export function withGraph(readme: string, block: string): string {
  const begin = readme.indexOf(beginMarker);
  const end = readme.indexOf(endMarker);
  if (begin >= 0 && end > begin) return readme.slice(0, begin) + block + readme.slice(end + endMarker.length);
  const section = [
    "## The resource graph",
    "",
    "The program's components and the order Pulumi builds them in, drawn from a mock run of the default",
    "topology (`npm run graph` redraws it; a test fails when it is stale). An arrow A → B means some resource",
    "of B waits on one of A (a data edge, an explicit `dependsOn` or a Kubernetes provider); arrows implied by a",
    "longer path are left out.",
    "",
    block,
    "",
  ].join("\n");
  return `${readme.trimEnd()}\n\n${section}`;
}

/** The current block of README.md, or undefined when it has none. */
export function readmeBlock(readme: string): string | undefined {
  const begin = readme.indexOf(beginMarker);
  const end = readme.indexOf(endMarker);
  return begin >= 0 && end > begin ? readme.slice(begin, end + endMarker.length) : undefined;
}

/** The block for the default topology, from a fresh mock run. */
export async function labGraphBlock(): Promise<string> {
  const { runLab } = await import("./harness");
  const run = await runLab();
  return graphBlock(mermaid(componentGraph(run.registrations)));
}

async function main() {
  const block = await labGraphBlock();
  // Read just before writing: other sections of the README may have changed since the run started.
  const readme = fs.readFileSync(readmePath, "utf8");
  const next = withGraph(readme, block);
  if (next === readme) {
    console.log("README.md: the resource graph is up to date");
    return;
  }
  fs.writeFileSync(readmePath, next);
  console.log("README.md: the resource graph is redrawn");
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
