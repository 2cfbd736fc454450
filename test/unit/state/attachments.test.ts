/** An attachment record is checked field by field and its request parsed again when read. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { exitCodeFor } from '../../../src/errors.js';
import {
  checkAttachmentRecord,
  listAttachmentRecords,
  readAttachmentRecord,
  recordKey,
  removeAttachmentRecord,
  requestOf,
  writeAttachmentRecord,
} from '../../../src/state/attachments.js';
import type { AttachmentRecord } from '../../../src/state/attachments.js';
import { rejection } from '../../helpers/errors.js';
import { tempStateDir } from '../../helpers/state-dir.js';

const ID = `docker:${'ab'.repeat(32)}`;
const good: AttachmentRecord = {
  version: 1,
  target: { spec: 'web', id: ID, nsIdentity: '4:4026532290@1733100000' },
  ifname: 'eth1',
  request: {
    form: 'attach',
    input: {
      target: 'web',
      bridge: 'br-lab',
      ip: ['192.0.2.10/24'],
      mac: '02:00:c0:00:02:0a',
      gateway: ['192.0.2.1'],
      route: ['198.51.100.0/24:192.0.2.254'],
    },
  },
  options: { allowDuplicateAddress: true },
  appliedAt: '2026-01-01T00:00:00.000Z',
};

test('a valid record reads back as written; the re-run names the target by its id', () => {
  assert.deepEqual(checkAttachmentRecord(JSON.parse(JSON.stringify(good))), good);
  const req = requestOf(good);
  assert.deepEqual(req.target, { kind: 'docker', ref: 'ab'.repeat(32) });
  assert.equal(req.iface.mac, '02:00:c0:00:02:0a');
  assert.equal(req.link.kind, 'bridge');
  // a named namespace by its name, a namespace file by the path typed
  assert.deepEqual(requestOf({ ...good, target: { spec: 'netns:r1', id: 'netns:r1' } }).target, {
    kind: 'netns',
    name: 'r1',
  });
  assert.deepEqual(requestOf({ ...good, target: { spec: '/tmp/ns', id: 'path:/tmp/ns' } }).target, {
    kind: 'path',
    path: '/tmp/ns',
  });
});

test("a link's record re-runs both ends by id; pipework's words are parsed again", () => {
  const linkRec: AttachmentRecord = {
    ...good,
    peer: { spec: 'netns:b', id: 'netns:b', ifname: 'eth2' },
    request: {
      form: 'link',
      input: { a: 'web:eth1', b: 'netns:b:eth2', ip: '192.0.2.1/30', peerIp: '192.0.2.2/30' },
    },
  };
  const req = checkAttachmentRecord(JSON.parse(JSON.stringify(linkRec)));
  const r = requestOf(req);
  assert.equal(r.link.kind, 'pair');
  if (r.link.kind === 'pair') assert.deepEqual(r.link.peer, { kind: 'netns', name: 'b' });
  const pw: AttachmentRecord = {
    ...good,
    request: { form: 'pipework', argv: 'br1 web 192.0.2.10/24@192.0.2.1'.split(' ') },
  };
  assert.equal(requestOf(checkAttachmentRecord(pw)).iface.addrs[0]?.address, '192.0.2.10');
});

test('every wrong type or shape names its field', () => {
  const cases: [unknown, RegExp][] = [
    [[], /expected an object/],
    [{ ...good, version: 2 }, /version 2: expected 1/],
    [{ ...good, target: 'web' }, /target must be \{ spec, id \}/],
    [{ ...good, target: { spec: 'pid:x', id: ID } }, /target\.spec "pid:x" is not a target/],
    [{ ...good, target: { spec: 'web', id: 'web' } }, /target\.id "web": expected docker:ID/],
    [
      { ...good, target: { spec: 'web', id: ID, nsIdentity: 3 } },
      /target\.nsIdentity must be a non-empty string/,
    ],
    [{ ...good, ifname: '' }, /ifname must be a non-empty string/],
    [{ ...good, ifname: 'eth2' }, /ifname "eth2": the request makes "eth1"/],
    [
      { ...good, request: { form: 'teleport' } },
      /request\.form "teleport": expected attach, link or pipework/,
    ],
    [{ ...good, request: { form: 'attach', input: 'x' } }, /request\.input must be/],
    [{ ...good, request: { form: 'pipework', argv: [1] } }, /request\.argv must be a list of strings/],
    [
      { ...good, request: { form: 'pipework', argv: 'route web show'.split(' ') } },
      /pipework's route form is not an attachment/,
    ],
    [
      {
        ...good,
        request: {
          form: 'attach',
          input: { ...good.request, target: 'web', bridge: 'br-lab', ip: '192.0.2.300/24' },
        },
      },
      /request: /,
    ],
    [
      { ...good, request: { form: 'attach', input: { target: 'web', bridge: 'br-lab', ip: 5 } } },
      /: request: --ip "5": expected a string or a list of strings, got number$/,
    ],
    [
      { ...good, request: { form: 'link', input: { a: 'web', b: 'netns:b', mtu: {} } } },
      /: request: --mtu "\{\}": expected a number or a string, got object$/,
    ],
    [
      { ...good, request: { form: 'link', input: { a: 'web', b: 'netns:b' } } },
      /peer: a link needs its second end/,
    ],
    [{ ...good, options: { force: 'yes' } }, /options\.force must be true or false/],
    [{ ...good, options: undefined }, /options must be an object/],
    [{ ...good, appliedAt: 5 }, /appliedAt/],
  ];
  for (const [data, why] of cases)
    assert.throws(() => checkAttachmentRecord(data), why, JSON.stringify(data));
});

test('write, list, read, remove; a corrupt file is E_STATE_CORRUPT (exit 2) naming the file and the fix', async (t) => {
  const dir = await tempStateDir(t, 'astate');
  assert.deepEqual(await listAttachmentRecords(), [], 'no directory: no records');
  await writeAttachmentRecord(good);
  const key = recordKey(ID, 'eth1');
  assert.deepEqual(await readAttachmentRecord(key), good);
  assert.deepEqual(await listAttachmentRecords(), [good]);
  await removeAttachmentRecord(ID, 'eth1');
  assert.deepEqual(await listAttachmentRecords(), []);
  await mkdir(`${dir}/attachments`, { recursive: true });
  const file = `${dir}/attachments/${key}.json`;
  for (const [body, why] of [
    [JSON.stringify({ ...good, options: [] }), 'options must be an object'],
    ['{"version": 1,', 'not a valid attachment record: '],
    [
      JSON.stringify({ ...good, ifname: 'eth1', target: { ...good.target, id: 'netns:other' } }),
      'do not match the file name',
    ],
  ] as const) {
    await writeFile(file, body);
    const e = await rejection(readAttachmentRecord(key));
    assert.equal(e.code, 'E_STATE_CORRUPT');
    assert.equal(exitCodeFor(e), 2);
    assert.ok(e.message.startsWith(`${file}: not a valid attachment record: `), e.message);
    assert.ok(e.message.includes(why), e.message);
    assert.ok(e.hint?.includes(`mv ${file} ${file}.bad`), e.hint);
  }
});

test('writing the record that is there already writes nothing: it keeps the time it was first made', async (t) => {
  const dir = await tempStateDir(t, 'asame');
  await writeAttachmentRecord(good);
  const key = recordKey(ID, 'eth1');
  const file = `${dir}/attachments/${key}.json`;
  const before = await stat(file);
  await writeAttachmentRecord({ ...good, appliedAt: '2026-06-01T00:00:00.000Z' });
  assert.equal((await readAttachmentRecord(key))?.appliedAt, good.appliedAt);
  assert.equal((await stat(file)).ino, before.ino, 'not replaced');
  // anything else that differs (a new namespace after a restart) is written, with its time
  const moved = { ...good, target: { ...good.target, nsIdentity: '4:4026532999@1733200000' } };
  await writeAttachmentRecord({ ...moved, appliedAt: '2026-06-01T00:00:00.000Z' });
  assert.deepEqual(await readAttachmentRecord(key), { ...moved, appliedAt: '2026-06-01T00:00:00.000Z' });
});
