// Topologies shared by tests.

const workload = (name: string, network: string) => ({ name, role: "workload", network });

/** 1 management cluster, 5 workload clusters, 3 mesh VMs spread over three of them. */
export const largeTopology = {
  clusters: [
    { name: "mgmt", role: "management", cpus: 4, memoryGiB: 8 },
    ...[1, 2, 3, 4, 5].map((i) => workload(`west-${i}`, `net-${i}`)),
  ],
  meshVms: [
    { name: "vm-a", cluster: "west-1" },
    { name: "vm-b", cluster: "west-2", network: "vm-net-b" },
    { name: "vm-c", cluster: "west-5", workloadGroup: { namespace: "httpbin", name: "httpbin" }, cpus: 2 },
  ],
};
