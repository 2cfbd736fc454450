#!/usr/bin/env node
// The floor under a no-change re-apply: what the kernel and the FFI take to answer the requests
// pipefitter's observation makes, without decoding a thing. One socket opened inside each
// namespace (setns there and back), then links, addresses and main-table routes dumped, as
// observe/netlink.ts asks them; the host also its neighbour cache. Process start-up is not
// counted: the time is taken inside. Uses the built library (dist/), as the CLI under test does.
// usage: node bench/kernel-reads.mjs PID... → {"ms": N, "namespaces": N}
import { performance } from 'node:perf_hooks';
import { loadLibc, openSocket } from '../dist/netlink/socket.js';
import { ifaddrmsg, ifinfomsg, ndmsg, rtmsg } from '../dist/netlink/messages.js';
import { AF, RTM, RT_TABLE } from '../dist/netlink/constants.js';

const libc = loadLibc();
if ('error' in libc) throw new Error(`koffi: ${libc.error}`);
const paths = [undefined, ...process.argv.slice(2).map((pid) => `/proc/${pid}/ns/net`)];
const t0 = performance.now();
let messages = 0;
for (const path of paths) {
  const s = openSocket(libc, path);
  messages += s.dump(RTM.GETLINK, ifinfomsg(), 'links').length;
  messages += s.dump(RTM.GETADDR, ifaddrmsg({ family: AF.UNSPEC, index: 0 }), 'addresses').length;
  messages += s.dump(RTM.GETROUTE, rtmsg({ family: AF.UNSPEC, table: RT_TABLE.MAIN }), 'routes').length;
  if (path === undefined) messages += s.dump(RTM.GETNEIGH, ndmsg({ family: AF.UNSPEC }), 'neighbours').length;
  s.close();
}
const ms = performance.now() - t0;
process.stdout.write(`${JSON.stringify({ ms, namespaces: paths.length, messages })}\n`);
