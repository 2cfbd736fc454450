/**
 * A test file run as a test run of its own (node --test, TAP), the way the harness's self-tests
 * run their fixtures: under the given environment (NODE_TEST_CONTEXT, which the runner sets for
 * its children, removed so the child reports on its own), optionally inside a named namespace.
 */
import { execa } from 'execa';

export interface TestFileRun {
  readonly code: number;
  /** stdout and stderr, interleaved: the TAP report and whatever the file printed. */
  readonly output: string;
}

export const runTestFile = async (
  file: string,
  o: { env: Record<string, string | undefined>; netns?: string; timeoutMs: number },
): Promise<TestFileRun> => {
  const env = { ...o.env };
  delete env.NODE_TEST_CONTEXT;
  const node = [
    'node',
    '--import',
    'tsx',
    '--import',
    './test/setup.ts',
    '--test',
    '--test-reporter=tap',
    file,
  ];
  const [cmd, ...args] = o.netns ? ['nsenter', `--net=/run/netns/${o.netns}`, '--', ...node] : node;
  const r = await execa(cmd!, args, {
    env,
    extendEnv: false,
    reject: false,
    all: true,
    timeout: o.timeoutMs,
  });
  return { code: r.exitCode ?? -1, output: String(r.all) };
};
