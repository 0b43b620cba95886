// The lab, as a table of contents: read the configuration, compose the components, export how to reach it.
import { ArgoCd } from "./components/argocd";
import { ArgoApplication } from "./components/argocd-application";
import { DebugToggles } from "./components/debug-toggles";
import { EndpointDiscovery } from "./components/endpoint-discovery";
import { IstioCertificateAuthority } from "./components/istio-ca";
import { IstioDeployment } from "./components/istio-deployment";
import { K3sCluster } from "./components/k3s-cluster";
import { KubeContexts, mergedKubeconfig } from "./components/kube-contexts";
import { MeshCheck } from "./components/mesh-check";
import { MeshVm } from "./components/mesh-vm";
import { RegistryMirrors } from "./components/registry-mirrors";
import { loadConfig } from "./config";

const cfg = loadConfig();

// The mesh's trust: a root CA whose key stays in Pulumi's state, and an intermediate per workload cluster.
const ca = new IstioCertificateAuthority("istio-ca", {
  settings: cfg.ca,
  workloadClusters: cfg.clusters.filter((c) => c.role === "workload").map((c) => c.name),
});

// Host side: registry caches, one k3s cluster per VM, and their contexts in the user's kubeconfig.
const mirrors = cfg.registryMirrors.enabled
  ? new RegistryMirrors("registry-mirrors", {
      mirrors: cfg.registryMirrors.mirrors,
      image: cfg.registryMirrors.image,
    })
  : undefined;
const clusters = cfg.clusters.map(
  (spec) =>
    new K3sCluster(spec.name, {
      spec,
      mesh: cfg.mesh,
      versions: cfg.versions,
      mirrors: mirrors?.endpoints,
      launchTimeoutSeconds: cfg.timeouts.vmLaunchSeconds,
      suspended: cfg.suspended,
    }),
);
if (cfg.host.mergeKubeconfig) new KubeContexts("kube-contexts", { clusters, path: cfg.host.kubeconfigPath });
const workloads = clusters.filter((c) => c.spec.role === "workload");
// istio-system and its cacerts in each workload cluster, before anything Istio is synced there (ca.cacerts).
ca.installInto(workloads);

// GitOps: Argo CD on the management cluster deploys Istio, part by part, then httpbin, to each workload cluster.
const management = clusters.find((c) => c.spec.role === "management") as K3sCluster;
const argocd = new ArgoCd("argocd", {
  cluster: management,
  workloadClusters: workloads,
  chartVersion: cfg.versions.argocdChart,
  cliContext: cfg.host.argocdCliContext,
});
const istio = workloads.map(
  (c) =>
    new IstioDeployment(`${c.spec.name}-istio`, {
      argocd,
      cluster: c,
      charts: cfg.sources.istioCharts,
      meshId: cfg.mesh.id,
      revision: cfg.versions.istioRevision,
      cacerts: ca.cacerts[c.spec.name],
      timeoutSeconds: cfg.timeouts.argocdAppSeconds,
      keepPilotImage: cfg.debug.pilotImage !== "",
    }),
);
// Multi-primary: each workload cluster's istiod reads every other's API (remote secrets).
const discovery = new EndpointDiscovery("endpoint-discovery", {
  clusters: workloads.map((c, i) => ({ cluster: c, istioBase: istio[i].apps.base })),
});
const httpbin = workloads.map(
  (c, i) =>
    new ArgoApplication(`${c.spec.name}-httpbin`, {
      argocd,
      cluster: c,
      appName: `${c.spec.name}-httpbin`,
      project: "httpbin",
      source: { ...cfg.sources.httpbin, path: "." },
      namespace: "httpbin",
      timeoutSeconds: cfg.timeouts.argocdAppSeconds,
      // httpbin's endpoints must be discoverable across clusters as soon as it runs.
      after: [istio[i].ready, discovery],
    }),
);

// Plain VMs in the mesh: launched at once (in parallel with the clusters), enrolled once their cluster's
// istiod, east-west gateway and WorkloadGroup are up.
const meshVms = cfg.meshVms.map((spec) => {
  const i = workloads.findIndex((c) => c.spec.name === spec.cluster);
  return new MeshVm(spec.name, {
    spec,
    cluster: workloads[i],
    mesh: cfg.mesh,
    versions: cfg.versions,
    launchTimeoutSeconds: cfg.timeouts.vmLaunchSeconds,
    suspended: cfg.suspended,
    istioReady: istio[i].ready,
    workloadGroupReady: httpbin[i],
    rootCertPem: ca.rootCertPem,
  });
});

// The README's debug recipes, as toggles (config debug*): each one is undone when switched off.
const debug = new DebugToggles("debug", {
  settings: cfg.debug,
  mesh: cfg.mesh,
  workloads: workloads.map((c, i) => ({ cluster: c, istio: istio[i], httpbin: httpbin[i] })),
  meshVms: meshVms.map((vm, i) => ({
    vm,
    cluster: workloads.find((c) => c.spec.name === cfg.meshVms[i].cluster) as K3sCluster,
  })),
  revision: cfg.versions.istioRevision,
});

// The README's tests, run for real at the end of every `up` (again any time: npm run verify); not while the
// VMs are suspended (config suspended), and after they are resumed.
const check =
  cfg.meshCheck.enabled && !cfg.suspended
    ? new MeshCheck("mesh-check", {
        clusters: workloads,
        meshVms,
        requests: cfg.meshCheck.requests,
        after: [
          ...httpbin,
          ...meshVms.map((v) => v.enrollment),
          debug,
          ...[...clusters.map((c) => c.vm), ...meshVms.map((v) => v.vm)].map((vm) => vm.power),
        ],
      })
    : undefined;

// How to reach the lab: `pulumi stack output` (add --show-secrets for the secret ones).
const clusterOutputs = clusters.map((c) => ({
  name: c.spec.name,
  role: c.spec.role,
  network: c.spec.network,
  ip: c.vm.ip,
  context: c.spec.name,
}));
const argocdOutput = {
  url: argocd.url,
  username: argocd.username,
  password: argocd.password,
  applications: [...istio.flatMap((d) => Object.values(d.apps)), ...httpbin].map((a) => a.appName),
};
const meshVmOutputs = meshVms.map((v) => ({ name: v.name, ip: v.ip, workloadEntry: v.workloadEntry }));

export { clusterOutputs as clusters };
/** The pull-through caches, `upstream` -> host port. */
export const registryMirrors = mirrors?.endpoints ?? [];
/** The mesh's root CA (PEM): `pulumi stack output rootCertificate > root-cert.pem`. */
export const rootCertificate = ca.rootCertPem;
/** Argo CD's UI and API (replaces bin/argocd): `pulumi stack output --show-secrets argocd`. */
export { argocdOutput as argocd };
/** Every cluster's context in one kubeconfig (secret). */
export const kubeconfig = mergedKubeconfig(clusters);
/** Mesh VMs: IP and auto-registered WorkloadEntry. */
export { meshVmOutputs as meshVms };
/** The last `up`'s mesh check: per client, answering hosts (like `sort | uniq -c`) and httpbin endpoints. */
export const meshCheck = check
  ? { plan: check.plan, tally: check.tally, endpoints: check.endpoints }
  : undefined;
