/**
 * The harness tested against a pipefitter that misbehaves without saying so: an `ip` first on
 * PATH that silently ignores every `link del` — also inside `ip -batch` input, the way
 * pipefitter sends most of its commands — and one that ignores every change of a default route
 * (`route add|replace|del|change|append default`, `0.0.0.0/0`, `::/0`). The subject runs with
 * the ip backend (PIPEFITTER_BACKEND=ip), where the `ip` on PATH is how pipefitter reaches the
 * kernel, directly, behind nsenter and through its command starter alike.
 *
 * Under each mutant, real tests (test/fixtures/mutant-subject.ts) must FAIL, for the reason the
 * harness is there to see: the links left behind (the leak check, the detach snapshot), the
 * default route that never came (the round trip's check of the applied state). Without a mutant
 * they pass. A harness that stops seeing leaks or routes makes this test fail. The harness
 * itself cleans up with the real `ip` (PF_HARNESS_PATH), so nothing stays behind either way.
 */
import { runTestFile } from '../helpers/test-file.js';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runId, withSandbox } from '../helpers/sandbox.js';
import { toolPath } from '../helpers/tools.js';

type Mode = 'link-del' | 'default-route';

// An `ip` that passes everything to the real one but what `drop` matches, which it answers with
// exit 0 (a batch line becomes a harmless `link show dev lo`, so line numbers stay right).
const wrapper = (real: string, mode: Mode): string => `#!/bin/bash
# pipefitter harness mutant (test/integration/harness-mutants.test.ts): ${mode}
real=${real}
mode=${mode}
drop() {
  while [ $# -gt 0 ]; do
    case $1 in
      -n | -netns | -b | -batch | -rc | -rcvbuf | -l | -loops | -f | -family) shift 2 ;;
      -*) shift ;;
      *) break ;;
    esac
  done
  local obj=\${1:-} verb=\${2:-}
  case $mode in
    link-del)
      case $obj in l | li | lin | link) case $verb in d | de | del | dele | delet | delete) return 0 ;; esac ;; esac ;;
    default-route)
      case $obj in r | ro | rou | rout | route)
        case $verb in a | ad | add | r | re | rep | repl | repla | replac | replace | d | de | del | dele | delet | delete | c | ch | cha | chan | chang | change | append)
          shift 2
          for w in "$@"; do case $w in default | 0.0.0.0/0 | ::/0) return 0 ;; esac; done ;;
        esac ;;
      esac ;;
  esac
  return 1
}
args=("$@")
batch=
for ((i = 0; i < \${#args[@]}; i++)); do
  case \${args[i]} in -b | -batch) batch=\${args[i + 1]:-} ;; esac
done
if [ -n "$batch" ]; then
  if [ "$batch" = - ]; then input=$(cat); else input=$(cat -- "$batch"); fi
  out=
  while IFS= read -r line; do
    read -ra words <<<"$line"
    if [ \${#words[@]} -gt 0 ] && drop "\${words[@]}"; then out+=$'link show dev lo\\n'; else out+="$line"$'\\n'; fi
  done <<<"$input"
  new=()
  for ((i = 0; i < \${#args[@]}; i++)); do
    case \${args[i]} in -b | -batch) new+=(-batch -); i=$((i + 1)) ;; *) new+=("\${args[i]}") ;; esac
  done
  printf '%s' "$out" | exec "$real" "\${new[@]}"
fi
if drop "$@"; then exit 0; fi
exec "$real" "$@"
`;

interface Outcome {
  readonly code: number;
  readonly output: string;
  /** The TAP report of the subject test named so: its ok/not ok line and what follows it. */
  report(name: string): string;
}

/** The subject tests as a test file of their own, with `ip` from `dir` first on PATH (or not). */
const runSubject = async (t: TestContext, dir: string | undefined): Promise<Outcome> => {
  // the ip backend: the mutant is an `ip` on PATH (the netlink backend starts no ip at all)
  const env: Record<string, string | undefined> = {
    ...process.env,
    PF_HARNESS_PATH: process.env.PATH,
    PIPEFITTER_BACKEND: 'ip',
  };
  if (dir) env.PATH = `${dir}:${process.env.PATH ?? ''}`;
  const { code, output } = await runTestFile('test/fixtures/mutant-subject.ts', { env, timeoutMs: 300_000 });
  t.diagnostic(`${dir ? 'under the mutant' : 'without a mutant'}: exit ${String(code)}`);
  return {
    code,
    output,
    report: (name) => {
      const at = output.search(new RegExp(`^(not )?ok \\d+ - ${name}`, 'm'));
      if (at < 0) return `(no report of "${name}")`;
      const next = output.indexOf('\n# Subtest:', at);
      return output.slice(at, next < 0 ? undefined : next);
    },
  };
};

test('the harness catches a pipefitter whose ip ignores link deletions, or default-route changes', (t) =>
  withSandbox(t, async (sb) => {
    const real = await toolPath('ip');
    assert.ok(real, 'ip is installed');
    const control = await runSubject(t, undefined);
    assert.equal(control.code, 0, `without a mutant the subject passes:\n${control.output}`);

    for (const mode of ['link-del', 'default-route'] as const) {
      const dir = await mkdtemp(`/tmp/pf-${runId}-mutant-`);
      sb.defer(() => rm(dir, { recursive: true, force: true }));
      await writeFile(join(dir, 'ip'), wrapper(real, mode));
      await chmod(join(dir, 'ip'), 0o755);
      const got = await runSubject(t, dir);
      assert.notEqual(got.code, 0, `${mode}: the subject must fail under the mutant:\n${got.output}`);
      const quiet = got.report('subject: attach and detach');
      const round = got.report('subject: round trip');
      if (mode === 'link-del') {
        // the test with no assertion of its own fails by the leak check: the veth and the bridge
        assert.match(quiet, /^not ok[\s\S]*this test left behind[\s\S]*link added: veth1pl\d+/, got.output);
        assert.match(quiet, /this test left behind[\s\S]*link added: pf-\w+-lk/, got.output);
        // the round trip by a full snapshot (links that should be gone are there), or first by
        // pipefitter's own read-back after a rollback, which names the link an undo left
        assert.match(
          round,
          /^not ok[\s\S]*(what differs:[\s\S]*link added|link \S+ is still in the host)/,
          got.output,
        );
      } else {
        assert.match(quiet, /^ok/, `no link is left behind:\n${got.output}`);
        // the round trip by its check of the applied state
        assert.match(round, /^not ok[\s\S]*the default route via the gateway/, got.output);
      }
    }
  }));
