/** Which failures of ip and tc are their refusal of the arguments (bad input, exit 2). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argumentHint, isArgumentError } from '../../../src/exec/hints.js';

test('ip and tc refusing their arguments is bad input; the kernel refusing a change is not', () => {
  // as printed by iproute2 6.1 (exit code as it exits)
  const bad: [string, number][] = [
    ['Error: any valid prefix is expected rather than "bogus".', 1],
    ['Error: argument "nosuch" is wrong: table id value is invalid', 1],
    ['Command "frob" is unknown, try "ip route help".', 255],
    ['Command line is not complete. Try option "help"', 255],
    ['tbf: the "rate" parameter is mandatory.', 1],
    ['Cannot find device "nope"', 1],
    ['Error: inet prefix is expected rather than "from".', 1],
    ['anything at all', 255],
  ];
  for (const [stderr, code] of bad) assert.equal(isArgumentError(stderr, code), true, stderr);
  const kernel: [string, number][] = [
    ['Error: Nexthop has invalid gateway.', 2],
    ['RTNETLINK answers: File exists', 2],
    ['Error: Device for nexthop is not up.', 2],
    ['RTNETLINK answers: Operation not permitted', 2],
  ];
  for (const [stderr, code] of kernel) assert.equal(isArgumentError(stderr, code), false, stderr);
});

test('the hint names the tool and where to list interfaces', () => {
  assert.equal(
    argumentHint('ip route add bogus', 'netns:r1'),
    'the words after the target go to ip route as they are: see `ip route help`; `pipefitter show netns:r1` lists the interfaces there',
  );
  assert.match(
    argumentHint('tc qdisc add dev x root tbf'),
    /^the words after the target go to tc as they are: see `tc help`$/,
  );
});
