/**
 * The test image: a rootfs with only the static busybox (Debian's busybox-static) and one symlink
 * per applet (sh, sleep, ip, ping, udhcpc, ifconfig, cat, ...). No registry is reachable, so it
 * is imported from a tar (`docker import`); about 2 MB.
 */
import { chmod, copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

export const BUSYBOX = '/bin/busybox';
export const IMAGE = 'pf-busybox:test';

/** A static binary has no PT_INTERP program header; needed because the image has no libc. */
export const isStaticElf = async (file: string): Promise<boolean> => {
  const b = await readFile(file);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false; // ELF64 only
  const phoff = Number(b.readBigUInt64LE(0x20));
  const [phentsize, phnum] = [b.readUInt16LE(0x36), b.readUInt16LE(0x38)];
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) return false;
  return true;
};

const DIRS = ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'run', 'var'];

/** Builds the rootfs in `work`: the static busybox, one symlink per applet, passwd and group. */
export const busyboxRootfs = async (work: string): Promise<void> => {
  for (const d of DIRS) await mkdir(join(work, d), { recursive: true });
  await chmod(join(work, 'tmp'), 0o1777);
  await copyFile(BUSYBOX, join(work, 'bin/busybox'));
  await chmod(join(work, 'bin/busybox'), 0o755);
  const { stdout } = await execa(BUSYBOX, ['--list-full']);
  for (const applet of stdout.split('\n').filter((a) => a && a !== 'bin/busybox')) {
    await mkdir(join(work, dirname(applet)), { recursive: true });
    await symlink('/bin/busybox', join(work, applet));
  }
  await writeFile(join(work, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(join(work, 'etc/group'), 'root:x:0:\n');
};

/** Builds the rootfs in `work` (removed afterwards) and returns it as a tar. */
export const busyboxRootfsTar = async (work: string): Promise<Uint8Array> => {
  await busyboxRootfs(work);
  const tar = await execa('tar', ['-C', work, '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '.'], {
    encoding: 'buffer',
  });
  await rm(work, { recursive: true });
  return tar.stdout;
};
