/** When colours and the progress bar are on, and what the table and the bar draw. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  colourOn,
  paintDiagnostic,
  paintError,
  progressBar,
  table,
  visibleLength,
} from '../../../src/cli/style.js';
import type { Step } from '../../../src/model/step.js';

const tty = { isTTY: true };
const strip = (s: string): string => s.replace(new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g'), '');
const pipe = { isTTY: false };

test('colour only on a terminal, without NO_COLOR, TERM=dumb, --json or -q', () => {
  assert.equal(colourOn(tty, {}, {}), true);
  assert.equal(colourOn(pipe, {}, {}), false);
  assert.equal(colourOn({}, {}, {}), false);
  assert.equal(colourOn(tty, {}, { NO_COLOR: '1' }), false);
  assert.equal(colourOn(tty, {}, { NO_COLOR: '' }), true); // the spec: set and not empty
  assert.equal(colourOn(tty, {}, { TERM: 'dumb' }), false);
  assert.equal(colourOn(tty, { json: true }, {}), false);
  assert.equal(colourOn(tty, { quiet: true }, {}), false);
});

test('diagnostics and errors: coloured labels when on, the very same text when off', () => {
  assert.equal(paintDiagnostic(true, 'warning: x'), '\x1b[33mwarning:\x1b[39m x');
  assert.equal(paintDiagnostic(true, 'note: x'), '\x1b[36mnote:\x1b[39m x');
  assert.equal(paintDiagnostic(true, 'plain'), 'plain');
  assert.equal(paintDiagnostic(false, 'warning: x'), 'warning: x');
  const e = 'pipefitter: --ip "bad": not an address\n  hint: write 192.0.2.10/24';
  assert.equal(paintError(false, e), e);
  assert.equal(
    paintError(true, e),
    '\x1b[1m\x1b[31mpipefitter: --ip "bad": not an address\x1b[39m\x1b[22m\n  \x1b[2mhint:\x1b[22m write 192.0.2.10/24',
  );
});

test('a table pads columns to the widest visible cell', () => {
  const rows = table(
    ['A', 'BB', 'C'],
    [
      ['xxx', '\x1b[32my\x1b[39m', 'z'],
      ['', 'yyyy', ''],
    ],
  );
  assert.deepEqual(rows.map(strip), ['A    BB    C', 'xxx  y     z', '     yyyy']);
  assert.equal(visibleLength('\x1b[1mab\x1b[22m'), 2);
});

test('the progress bar: drawn in place on a terminal, only for runs of 5 steps or more, then cleared', () => {
  let written = '';
  const err = { isTTY: true, columns: 60, write: (s: string) => (written += s) };
  const step = (d: string) => ({ describes: d }) as Step;
  const saved = process.env.NO_COLOR;
  delete process.env.NO_COLOR;
  try {
    assert.equal(progressBar('apply', {}, { out: pipe, err }), undefined);
    assert.equal(progressBar('apply', { json: true }, { out: tty, err }), undefined);
    const bar = progressBar('apply', {}, { out: tty, err });
    assert.ok(bar);
    bar.step(step('short'), 0, 3);
    assert.equal(written, '');
    bar.end();
    assert.equal(written, '');
    for (let i = 0; i < 8; i++) bar.step(step(`step ${i} ${'x'.repeat(80)}`), i, 8);
    const frames = written.split('\r\x1b[K').filter(Boolean);
    assert.equal(frames.length, 8);
    assert.ok(strip(frames[7] ?? '').startsWith('apply [########################] 8/8 step 7'));
    // never wider than the terminal
    for (const f of frames) assert.ok(visibleLength(f) <= 59, f);
    bar.end();
    assert.ok(written.endsWith('\r\x1b[K'));
  } finally {
    if (saved !== undefined) process.env.NO_COLOR = saved;
  }
});
