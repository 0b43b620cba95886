// The lab, as a table of contents: read the configuration, compose the components, export how to reach it.
import { loadConfig } from "./config";

const lab = loadConfig();

export const topology = {
  clusters: lab.clusters.map((c) => ({ name: c.name, role: c.role, network: c.network })),
  meshVms: lab.meshVms.map((v) => ({ name: v.name, cluster: v.cluster })),
};
