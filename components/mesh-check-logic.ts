// The mesh check's judgement, pure: parses what scripts/mesh-check.sh collected and says whether the mesh
// works as the README's tests expect. Every client (each workload cluster's sleep pod, each mesh VM) gets an
// answer with `.envs.HOSTNAME` to every request (tallied like `sort | uniq -c`), and its sidecar knows httpbin
// endpoints of every workload cluster and every mesh VM. Which cluster answers is not judged (locality LB
// keeps traffic local when it can).

/** What to check; plain data, so that `npm run verify` can take it from the stack's outputs. */
export interface MeshCheckPlan {
  /** The service the clients call. */
  service: { namespace: string; name: string; port: number };
  /** Requests per client. */
  requests: number;
  /** Workload clusters: clients through their sleep pod, and owners of httpbin endpoints. */
  clusters: { name: string; podCidr: string }[];
  /** Mesh VMs: clients, and owners of the endpoint `<ip>:<port>`. */
  vms: { name: string; port: number }[];
  /** Port of the east-west gateways' AUTO_PASSTHROUGH listener (remote clusters' endpoints). @default 15443 */
  gatewayPort: number;
}

/** `curl <service>/get` as the clients call it. */
export function checkUrl(plan: MeshCheckPlan): string {
  return `${plan.service.name}/get`;
}

/** The Envoy cluster of the service: `outbound|<port>||<name>.<namespace>.svc.cluster.local`. */
export function envoyClusterName(plan: MeshCheckPlan): string {
  return `outbound|${plan.service.port}||${plan.service.name}.${plan.service.namespace}.svc.cluster.local`;
}

/** The environment of scripts/mesh-check.sh for a plan (the Command's and `npm run verify`'s). */
export function checkEnvironment(plan: MeshCheckPlan, waitSeconds: number): Record<string, string> {
  return {
    CLUSTER_CLIENTS: plan.clusters.map((c) => c.name).join(" "),
    VM_CLIENTS: plan.vms.map((v) => v.name).join(" "),
    REQUESTS: String(plan.requests),
    URL: checkUrl(plan),
    NAMESPACE: plan.service.namespace,
    ENVOY_CLUSTER: envoyClusterName(plan),
    // Every client should see one endpoint per workload cluster and per VM at least.
    MIN_ENDPOINTS: String(plan.clusters.length + plan.vms.length),
    WAIT_SECONDS: String(waitSeconds),
  };
}

interface Section {
  lines: string[];
  exit?: number;
}
interface Answer {
  body: string[];
  status?: string;
}
/** What was collected from one client. */
export interface ClientCollection {
  info?: Section;
  requests?: Section & { answers: Answer[] };
  clusters?: Section;
}

/** Splits mesh-check.sh's output into clients and sections. */
export function parseCollected(text: string): Map<string, ClientCollection> {
  const clients = new Map<string, ClientCollection>();
  let section: Section | undefined;
  let answer: Answer | undefined;
  for (const line of text.split("\n")) {
    const header = /^### (client|answer|status|exit)(?: (.*))?$/.exec(line);
    if (!header) {
      if (answer) answer.body.push(line);
      else section?.lines.push(line);
      continue;
    }
    const [, kind, rest = ""] = header;
    if (kind === "client") {
      const [name, part] = rest.split(" ");
      const c = clients.get(name) ?? {};
      clients.set(name, c);
      answer = undefined;
      if (part === "requests") {
        c.requests = { lines: [], answers: [] };
        section = c.requests;
      } else if (part === "clusters") section = c.clusters = { lines: [] };
      else section = c.info = { lines: [] };
    } else if (kind === "answer") {
      const requests = section as (Section & { answers?: Answer[] }) | undefined;
      answer = { body: [] };
      requests?.answers?.push(answer);
    } else if (kind === "status") {
      if (answer) answer.status = rest.trim();
      answer = undefined;
    } else if (section) {
      section.exit = Number(rest);
      answer = undefined;
    }
  }
  return clients;
}

/** The verdict: per client, the tally of answering hosts and the endpoints its sidecar knows. */
export interface MeshCheckReport {
  /** Client -> answering `.envs.HOSTNAME` -> count, most frequent first. */
  tally: Record<string, Record<string, number>>;
  /** Client -> the service's endpoints in its sidecar, each with whose it is. */
  endpoints: Record<string, string[]>;
  /** Client -> IP, as Multipass reported it during the check. */
  ips: Record<string, string>;
  /** One line per problem; empty when the mesh works. */
  failures: string[];
}

function ipv4ToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  return m ? m.slice(1).reduce((a, o) => a * 256 + Number(o), 0) : undefined;
}
function inCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split("/");
  const a = ipv4ToInt(ip);
  const n = ipv4ToInt(net);
  if (a === undefined || n === undefined) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(a / size) === Math.floor(n / size);
}

function snippet(text: string, max = 120): string {
  const one = text.replace(/\s+/g, " ").trim();
  if (one === "") return "(nothing)";
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

/** The IPv4 Multipass gave `name` (`info.<name>.ipv4[0]`), or undefined. */
function ipFromInfo(section: Section | undefined, name: string): string | undefined {
  if (section?.exit !== 0) return undefined;
  try {
    const info = JSON.parse(section.lines.join("\n")) as { info?: Record<string, { ipv4?: string[] }> };
    return info.info?.[name]?.ipv4?.[0];
  } catch {
    return undefined;
  }
}

/** Judges what was collected against the plan. */
export function judge(plan: MeshCheckPlan, collected: Map<string, ClientCollection>): MeshCheckReport {
  const report: MeshCheckReport = { tally: {}, endpoints: {}, ips: {}, failures: [] };
  const fail = (s: string) => report.failures.push(s);
  const url = checkUrl(plan);
  const envoyCluster = envoyClusterName(plan);
  const clients = [
    ...plan.clusters.map((c) => ({ name: c.name, role: "sleep pod", cluster: c })),
    ...plan.vms.map((v) => ({ name: v.name, role: "VM", cluster: undefined })),
  ];

  for (const c of clients) {
    const ip = ipFromInfo(collected.get(c.name)?.info, c.name);
    if (ip) report.ips[c.name] = ip;
    else
      fail(`${c.name}: multipass info gave no IPv4, so its endpoints cannot be checked (is the VM running?)`);
  }

  for (const client of clients) {
    const who = `${client.name} (${client.role})`;
    const got = collected.get(client.name);

    // Requests: every one answered 200 with a JSON body naming its host.
    const tally: Record<string, number> = {};
    const req = got?.requests;
    if (!req) {
      fail(`${who}, GET ${url}: nothing was collected`);
    } else if (req.exit !== 0) {
      fail(`${who}, GET ${url}: the command failed (exit ${req.exit}): ${snippet(req.lines.join("\n"))}`);
    } else {
      const bad: string[] = [];
      req.answers.forEach((a, i) => {
        const body = a.body.join("\n");
        const at = `request ${i + 1} of ${plan.requests}`;
        if (a.status === "000") {
          bad.push(`${at} got no HTTP answer (curl could not connect or timed out)`);
          return;
        }
        if (a.status !== "200") {
          bad.push(`${at} got HTTP ${a.status ?? "nothing"}: ${snippet(body)}`);
          return;
        }
        let host: unknown;
        try {
          host = (JSON.parse(body) as { envs?: { HOSTNAME?: unknown } }).envs?.HOSTNAME;
        } catch {
          bad.push(`${at} answered 200 but not JSON: ${snippet(body)}`);
          return;
        }
        if (typeof host !== "string" || host === "") {
          bad.push(`${at} has no .envs.HOSTNAME: ${snippet(body)}`);
          return;
        }
        tally[host] = (tally[host] ?? 0) + 1;
      });
      if (req.answers.length !== plan.requests) {
        bad.unshift(`${req.answers.length} of ${plan.requests} requests were made`);
      }
      if (bad.length > 0) {
        const more = bad.length > 3 ? ` (and ${bad.length - 3} more)` : "";
        fail(`${who}, GET ${url}: ${bad.slice(0, 3).join("; ")}${more}`);
      }
    }
    report.tally[client.name] = Object.fromEntries(Object.entries(tally).sort(([, a], [, b]) => b - a));

    // Endpoints: the sidecar's /clusters lists one of every workload cluster and every mesh VM.
    const dump = got?.clusters;
    if (!dump) {
      fail(`${who}, Envoy /clusters: nothing was collected`);
      report.endpoints[client.name] = [];
      continue;
    }
    if (dump.exit !== 0) {
      fail(
        `${who}, Envoy /clusters: the command failed (exit ${dump.exit}): ${snippet(dump.lines.join("\n"))}`,
      );
      report.endpoints[client.name] = [];
      continue;
    }
    const addresses = [
      ...new Set(
        dump.lines
          .filter((l) => l.startsWith(`${envoyCluster}::`))
          .map((l) => l.split("::")[1])
          .filter((a) => /:\d+$/.test(a)),
      ),
    ].sort();
    const owners = new Map<string, string>();
    const missing: string[] = [];
    for (const w of plan.clusters) {
      if (client.cluster?.name === w.name) {
        // The client's own cluster: pod IPs, straight.
        const pods = addresses.filter((a) => inCidr(a.split(":")[0], w.podCidr));
        for (const a of pods) owners.set(a, `${w.name} pod`);
        if (pods.length === 0) missing.push(`${w.name} (want a pod IP in ${w.podCidr}, its own cluster)`);
      } else {
        const ip = report.ips[w.name];
        if (!ip) continue;
        const want = `${ip}:${plan.gatewayPort}`;
        owners.set(want, `${w.name} east-west gateway`);
        if (!addresses.includes(want)) missing.push(`${w.name} (want ${want}, its east-west gateway)`);
      }
    }
    for (const v of plan.vms) {
      const ip = report.ips[v.name];
      if (!ip) continue;
      const want = `${ip}:${v.port}`;
      owners.set(want, v.name);
      if (!addresses.includes(want)) missing.push(`${v.name} (want ${want})`);
    }
    report.endpoints[client.name] = addresses.map((a) => `${a} ${owners.get(a) ?? "unknown"}`);
    if (missing.length > 0) {
      fail(
        `${who}, Envoy /clusters: ${envoyCluster} has no endpoint of ${missing.join(", ")}; it has ${
          addresses.length > 0 ? addresses.join(", ") : "none"
        }`,
      );
    }
  }
  return report;
}

/** The check failed: the message lists every client, path and what it saw. */
export class MeshCheckError extends Error {
  override name = "MeshCheckError";
  constructor(readonly report: MeshCheckReport) {
    super(`mesh check failed:\n${report.failures.map((f) => `  - ${f}`).join("\n")}`);
  }
}

/** Parses and judges; throws MeshCheckError listing the failures, else returns the report. */
export function runJudgement(plan: MeshCheckPlan, output: string): MeshCheckReport {
  const report = judge(plan, parseCollected(output));
  if (report.failures.length > 0) throw new MeshCheckError(report);
  return report;
}

/** `sort | uniq -c | sort -rn` of a client's tally, as the README prints it. */
export function tallyText(tally: Record<string, number>): string {
  return Object.entries(tally)
    .map(([host, n]) => `${String(n).padStart(7)} ${host}`)
    .join("\n");
}
