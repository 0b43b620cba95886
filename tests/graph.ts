// Reads the recorded registrations as a dependency graph.
import type { LabRun, Registration } from "./harness";

/** Direct predecessors of each URN: dependencies, property dependencies and the provider, a component standing for its children. */
export function predecessors(run: LabRun): Map<string, string[]> {
  const children = new Map<string, string[]>();
  for (const r of run.registrations) {
    if (!r.parent) continue;
    children.set(r.parent, [...(children.get(r.parent) ?? []), r.urn]);
  }
  const expand = (urn: string, seen = new Set<string>()): string[] => {
    if (seen.has(urn)) return [];
    seen.add(urn);
    const kids = children.get(urn) ?? [];
    return [urn, ...kids.flatMap((k) => expand(k, seen))];
  };
  const preds = new Map<string, string[]>();
  for (const r of run.registrations) {
    // A resource waits for its provider too (the provider's URN is its reference without the id).
    const provider = r.provider ? [r.provider.split("::").slice(0, -1).join("::")] : [];
    const direct = new Set([...r.dependencies, ...Object.values(r.propertyDependencies).flat(), ...provider]);
    preds.set(
      r.urn,
      [...new Set([...direct].flatMap((u) => expand(u)))].filter((u) => u !== r.urn),
    );
  }
  return preds;
}

/** The longest chain of custom resources that must be created one after another. */
export function longestChain(run: LabRun): Registration[] {
  const preds = predecessors(run);
  const byUrn = new Map(run.registrations.map((r) => [r.urn, r]));
  const memo = new Map<string, string[]>();
  const visiting = new Set<string>();
  const chain = (urn: string): string[] => {
    const known = memo.get(urn);
    if (known) return known;
    if (visiting.has(urn)) throw new Error(`dependency cycle through ${urn}`);
    visiting.add(urn);
    let best: string[] = [];
    for (const p of preds.get(urn) ?? []) {
      const c = chain(p);
      if (c.length > best.length) best = c;
    }
    visiting.delete(urn);
    const self = byUrn.get(urn)?.custom ? [urn] : [];
    const result = [...best, ...self];
    memo.set(urn, result);
    return result;
  };
  let longest: string[] = [];
  for (const r of run.registrations) {
    const c = chain(r.urn);
    if (c.length > longest.length) longest = c;
  }
  return longest.map((u) => byUrn.get(u) as Registration);
}
