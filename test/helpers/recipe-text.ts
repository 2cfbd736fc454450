/** The smallest valid recipe the recipe tests build their mistakes on: one network, one container. */
export const base = `version: 1
networks:
  lan: { bridge: br-lan, subnet: 192.0.2.0/24, gateway: 192.0.2.1, pool: 192.0.2.100-192.0.2.199 }
containers:
  web:
    target: netns:web
    interfaces:
      eth1: { network: lan, address: 192.0.2.10 }
`;
