/**
 * A CLI that guides (issue 14): "did you mean" for a mistyped subcommand, and shell completion
 * run by the real shells (bash's function with COMP_* set, fish's `complete -C`, zsh's function
 * with compadd recorded) against live values from the kernel and a Docker Engine API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { BIN, cli } from '../helpers/cli.js';
import { withSandbox } from '../helpers/sandbox.js';

const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

test('a mistyped subcommand gets "did you mean", exit 2, before the pipework forms', async () => {
  const r = await cli(['atach', 'netns:X', '--bridge', 'br0'], NO_DOCKER);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^pipefitter: unknown command "atach": did you mean "attach"\?/);
  assert.doesNotMatch(r.stderr, /macaddr/);
  const j = await cli(['--json', 'shwo', 'web'], NO_DOCKER);
  assert.equal(j.code, 2);
  const doc = JSON.parse(j.stdout) as {
    ok: boolean;
    error: { code: string; message: string; value: string };
  };
  assert.equal(doc.ok, false);
  assert.equal(doc.error.code, 'E_USAGE');
  assert.equal(doc.error.value, 'shwo');
  assert.match(doc.error.message, /did you mean "show"/);
  // a pipework line that parses is pipework's, even with a word close to a subcommand
  const pw = await cli(['show1', 'web', '192.0.2.10/24', '--dry-run'], NO_DOCKER);
  assert.doesNotMatch(pw.stderr, /did you mean/);
  // malformed pipework keeps pipework's own message
  const bad = await cli(['br0', 'web'], NO_DOCKER);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /pipework syntax/);
});

test("an unknown flag gets commander's suggestion, and --json the JSON error document", async () => {
  const r = await cli(['attach', 'web', '--brige', 'br0'], NO_DOCKER);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option '--brige'/);
  assert.match(r.stderr, /Did you mean --bridge\?/);
  const j = await cli(['attach', 'web', '--brige', 'br0', '--json'], NO_DOCKER);
  assert.equal(j.code, 2);
  const doc = JSON.parse(j.stdout) as { ok: boolean; error: { code: string; message: string } };
  assert.equal(doc.ok, false);
  assert.equal(doc.error.code, 'E_USAGE');
  assert.match(doc.error.message, /--brige/);
});

/** A Docker Engine API that lists two running containers, on a unix socket. */
const fakeDocker = async (dir: string): Promise<{ host: string; close: () => Promise<void> }> => {
  const sock = join(dir, 'docker.sock');
  const server = createServer((req, res) => {
    if (req.url?.endsWith('/containers/json')) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify([{ Names: ['/web-1'] }, { Names: ['/db-1'] }]));
    } else res.writeHead(404).end('{"message":"no"}');
  });
  await new Promise<void>((ok) => server.listen(sock, ok));
  return {
    host: `unix://${sock}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
};

/** A directory with `pipefitter` on PATH (bin/pipefitter.js), a recipe file, and the scripts. */
const setup = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pfcomp-'));
  await symlink(BIN, join(dir, 'pipefitter'));
  await writeFile(join(dir, 'lab.yaml'), 'name: lab\n');
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await cli(['completion', shell]);
    assert.equal(r.code, 0, r.stderr);
    await writeFile(join(dir, `pf.${shell}`), r.stdout);
  }
  return dir;
};

/** bash: source the script, then call the registered function as bash would for `line`. */
const bashComplete = async (dir: string, env: Record<string, string>, line: string): Promise<string[]> => {
  const script = `
source ${dir}/pf.bash
spec=$(complete -p pipefitter) || exit 9
fn=$(sed -E 's/.* -F ([^ ]+) .*/\\1/' <<< "$spec")
COMP_LINE="$LINE"; COMP_POINT=\${#LINE}
read -r -a COMP_WORDS <<< "$LINE"
[[ "$LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
"$fn" pipefitter "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await execa('bash', ['-c', script], {
    cwd: dir,
    env: { ...env, LINE: line, PATH: `${dir}:${process.env.PATH ?? ''}` },
  });
  return r.stdout.split('\n').filter((l) => l !== '');
};

test('bash, fish and zsh complete subcommands, flags and live values', (t) =>
  withSandbox(t, async (sb) => {
    const dir = await setup();
    const docker = await fakeDocker(dir);
    try {
      const ns = await sb.netns('c0');
      const nic = await sb.hostNic('a');
      const br = sb.name('br');
      sb.own(br);
      await execa('ip', ['link', 'add', br, 'type', 'bridge']);
      const env = { DOCKER_HOST: docker.host };
      const b = (line: string) => bashComplete(dir, env, line);

      assert.deepEqual(await b('pipefitter at'), ['attach']);
      assert.ok((await b('pipefitter ')).includes('completion'));
      assert.deepEqual(await b('pipefitter attach x --macv'), ['--macvlan']);
      const targets = await b('pipefitter attach ');
      for (const v of ['web-1', 'db-1', `netns:${ns}`, 'docker:', 'pid:']) assert.ok(targets.includes(v), v);
      // bash breaks words at ":": the reply is what follows it
      assert.deepEqual(await b(`pipefitter attach netns:${ns.slice(0, -1)}`), [ns]);
      assert.deepEqual(await b('pipefitter show docker:we'), ['web-1']);
      assert.deepEqual(await b(`pipefitter attach web-1 --bridge ${br.slice(0, -1)}`), [br]);
      const phys = await b('pipefitter attach web-1 --phys ');
      assert.ok(phys.includes(nic) && phys.includes(br) && !phys.includes('lo'), phys.join(' '));
      assert.deepEqual(await b('pipefitter --backend '), ['netlink', 'ip']);
      assert.deepEqual(await b('pipefitter apply '), ['lab.yaml']);
      assert.deepEqual(await b('pipefitter completion z'), ['zsh']);

      // without dockerd: the other values, quietly
      const noDocker = await bashComplete(dir, NO_DOCKER, 'pipefitter attach ');
      assert.ok(noDocker.includes(`netns:${ns}`) && !noDocker.includes('web-1'));
      const direct = await execa('node', [BIN, '__complete', '--', 'attach', ''], { env: NO_DOCKER });
      assert.equal(direct.exitCode, 0);
      assert.equal(direct.stderr, '');

      // fish: parses, and `complete -C` answers through the script
      await execa('fish', ['-n', join(dir, 'pf.fish')]);
      const fish = await execa(
        'fish',
        ['-c', `source ${dir}/pf.fish; complete -C 'pipefitter attach web-1 --bridge ${br.slice(0, -1)}'`],
        { cwd: dir, env: { ...env, PATH: `${dir}:${process.env.PATH ?? ''}` } },
      );
      assert.deepEqual(fish.stdout.split('\n').filter(Boolean), [br]);

      // zsh: parses, registers with compdef, and its function hands the candidates to compadd
      await execa('zsh', ['-n', join(dir, 'pf.zsh')]);
      const zsh = await execa(
        'zsh',
        [
          '-fc',
          `compdef() { print -r -- "compdef $*" }
compadd() { local a; for a in "$@"; do [[ $a == -* || -z $a ]] || print -r -- "add $a"; done }
_files() { print -r -- files }
source ${dir}/pf.zsh
words=(pipefitter attach web-1 --backend ''); CURRENT=5; _pipefitter
words=(pipefitter attach ne); CURRENT=3; _pipefitter`,
        ],
        { cwd: dir, env: { ...env, PATH: `${dir}:${process.env.PATH ?? ''}` } },
      );
      const lines = zsh.stdout.split('\n');
      assert.ok(lines.includes('compdef _pipefitter pipefitter'), zsh.stdout);
      assert.ok(lines.includes('add netlink') && lines.includes('add ip'), zsh.stdout);
      assert.ok(lines.includes('add netns:'), zsh.stdout);
    } finally {
      await docker.close();
      await rm(dir, { recursive: true, force: true });
    }
  }));
