/**
 * The captured rtnetlink replies of test/fixtures/netlink/ (scripts/capture-netlink-fixtures.ts):
 * the kernel's datagrams in hex, and what `ip -d -j` printed of the same namespace.
 */
import { readFileSync } from 'node:fs';
import type { NlMessage } from '../../../src/netlink/codec.js';
import { decodeMessages } from '../../../src/netlink/codec.js';

export interface Fixture {
  readonly about: string;
  readonly kernel: string;
  readonly requests: readonly Buffer[];
  readonly datagrams: readonly Buffer[];
  readonly ip: readonly Record<string, unknown>[];
}

export const fixture = (name: string): Fixture => {
  const raw = JSON.parse(
    readFileSync(new URL(`../../fixtures/netlink/${name}.json`, import.meta.url), 'utf8'),
  ) as {
    about: string;
    kernel: string;
    requests: string[];
    datagrams: string[];
    ip?: Record<string, unknown>[];
  };
  return {
    about: raw.about,
    kernel: raw.kernel,
    requests: raw.requests.map((h) => Buffer.from(h, 'hex')),
    datagrams: raw.datagrams.map((h) => Buffer.from(h, 'hex')),
    ip: raw.ip ?? [],
  };
};

/** Every message of every datagram, in order. */
export const messages = (f: Fixture): NlMessage[] => f.datagrams.flatMap((d) => decodeMessages(d));

/** The messages that carry objects (not NLMSG_DONE, NLMSG_ERROR). */
export const objects = (f: Fixture, type: number): NlMessage[] => messages(f).filter((m) => m.type === type);
