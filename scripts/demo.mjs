#!/usr/bin/env node
// npm run demo: two throwaway "containers" (network namespaces) on a bridge, plumbed with
// pipefitter, pinging each other. Everything happens inside a throwaway sandbox namespace, so
// this machine's own interfaces, routes and firewall are never touched. No Docker needed.
import { $, chalk } from 'zx';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

$.verbose = false;
$.quiet = true;
const root = resolve(import.meta.dirname, '..');
if (process.getuid?.() !== 0) {
  console.error('the demo makes network namespaces and needs root: sudo npm run demo');
  process.exit(1);
}

const id = randomBytes(2).toString('hex');
const sandbox = `pf-demo-${id}`;
const web = `pf-demo-${id}-web`;
const db = `pf-demo-${id}-db`;
const bridge = `br-demo${id}`;

const title = (s) => console.log(`\n${chalk.bold(s)}`);
const shown = (cmd) => console.log(chalk.cyan(`$ ${cmd}`));
// pipefitter runs with the sandbox as its "host"
const pf = async (...args) => {
  shown(`pipefitter ${args.join(' ')}`);
  const p = await $({
    nothrow: true,
  })`nsenter --net=/run/netns/${sandbox} -- node ${root}/bin/pipefitter.js ${args}`;
  process.stdout.write(p.stdout);
  if (p.stderr) process.stdout.write(chalk.dim(p.stderr));
  if (p.exitCode !== 0) throw new Error(`pipefitter exited ${p.exitCode}`);
  return p;
};

const cleanup = async () => {
  for (const n of [web, db, sandbox]) await $({ nothrow: true })`ip netns del ${n}`;
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  title(`1. A sandbox namespace (${sandbox}) and two "containers" in their own namespaces`);
  for (const n of [sandbox, web, db]) {
    shown(`ip netns add ${n}`);
    await $`ip netns add ${n}`;
  }
  await $`ip -n ${sandbox} link set lo up`;

  title('2. What attach would do, as a shell script (--dry-run changes nothing)');
  const dry =
    await $`nsenter --net=/run/netns/${sandbox} -- node ${root}/bin/pipefitter.js attach netns:${web} --bridge ${bridge} --ip 192.0.2.10/24 --dry-run`;
  shown(`pipefitter attach netns:${web} --bridge ${bridge} --ip 192.0.2.10/24 --dry-run`);
  console.log(
    dry.stdout
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .join('\n'),
  );

  title('3. Attach both to a bridge (made on the fly), each with an address');
  await pf('attach', `netns:${web}`, '--bridge', bridge, '--ip', '192.0.2.10/24', '--ip', '2001:db8::10/64');
  await pf('attach', `netns:${db}`, '--bridge', bridge, '--ip', '192.0.2.11/24', '--ip', '2001:db8::11/64');
  await pf('attach', `netns:${web}`, '--bridge', bridge, '--ip', '192.0.2.10/24', '--ip', '2001:db8::10/64');

  title('4. What is inside web now');
  await pf('show', `netns:${web}`);

  title('5. web pings db across the bridge');
  for (const addr of ['192.0.2.11', '2001:db8::11']) {
    shown(`nsenter --net=/run/netns/${web} -- ping -c 2 ${addr}`);
    const p = await $({ nothrow: true })`nsenter --net=/run/netns/${web} -- ping -c 2 -W 2 ${addr}`;
    console.log(p.stdout.trim().split('\n').slice(-2).join('\n'));
    if (p.exitCode !== 0) throw new Error(`ping ${addr} failed`);
  }

  title('6. Detach both: the bridge pipefitter made goes with its last port');
  await pf('detach', `netns:${web}`);
  await pf('detach', `netns:${db}`);
  shown(`ip -n ${sandbox} -br link`);
  console.log((await $`ip -n ${sandbox} -br link`).stdout.trim());
  title('Done.');
} catch (e) {
  console.error(chalk.red(`demo failed: ${e instanceof Error ? e.message : String(e)}`));
  process.exitCode = 1;
} finally {
  await cleanup();
  console.log(chalk.dim(`(removed ${sandbox}, ${web}, ${db})`));
}
