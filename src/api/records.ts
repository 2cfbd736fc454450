/**
 * Keeping the attachment records (state/attachments.ts) in step with what attach and detach did:
 * written after a run that changed nothing or applied everything, removed after a detach.
 */
import type { Attachment } from '../model/attachment.js';
import { targetSpecText } from '../model/target.js';
import type { ResolvedTarget } from '../model/target.js';
import type { AttachForm, AttachmentRecord, RecordedOptions, RecordedTarget } from '../state/attachments.js';
import {
  listAttachmentRecords,
  removeAttachmentRecord,
  writeAttachmentRecord,
} from '../state/attachments.js';

/**
 * Which namespace a resolved target is in: device:inode and the instance (a freed namespace's
 * inode is handed to the next one at once, so the inode alone does not tell a restart).
 */
export const namespaceOf = (t: ResolvedTarget): string | undefined =>
  t.nsIdentity === undefined ? undefined : `${t.nsIdentity}@${t.nsInstance ?? ''}`;

const recorded = (t: ResolvedTarget): RecordedTarget => {
  const ns = namespaceOf(t);
  return { spec: targetSpecText(t.spec), id: t.id, ...(ns !== undefined ? { nsIdentity: ns } : {}) };
};

/** The records of what an attach made (those given by a form: the request as the user gave it). */
export const attachmentRecordsOf = (
  atts: readonly Attachment[],
  forms: readonly (AttachForm | undefined)[],
  opts: RecordedOptions,
): AttachmentRecord[] => {
  const options: RecordedOptions = Object.fromEntries(
    (['replace', 'force', 'allowDuplicateAddress', 'allowHostNamespace'] as const)
      .filter((k) => opts[k] === true)
      .map((k) => [k, true]),
  );
  const appliedAt = new Date().toISOString();
  return atts.flatMap((a, i) => {
    const form = forms[i];
    if (!form) return [];
    return [
      {
        version: 1 as const,
        target: recorded(a.target),
        ifname: a.iface.ifname,
        ...(a.link.kind === 'pair'
          ? { peer: { ...recorded(a.link.peer), ifname: a.link.peerIface.ifname } }
          : {}),
        request: form,
        options,
        appliedAt,
      },
    ];
  });
};

export const writeAttachmentRecords = async (records: readonly AttachmentRecord[]): Promise<void> => {
  for (const r of records) await writeAttachmentRecord(r);
};

/** After a detach of this interface: its record goes, and that of a link it was an end of. */
export const forgetAttachment = async (targetId: string, ifname: string): Promise<void> => {
  await removeAttachmentRecord(targetId, ifname);
  const all = await listAttachmentRecords().catch(() => []);
  for (const r of all)
    if (r.peer?.id === targetId && r.peer.ifname === ifname)
      await removeAttachmentRecord(r.target.id, r.ifname);
};
