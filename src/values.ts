/** Bounded link values (MTU, VLAN id, MAC) and the choices for enumerated options, each from one constant. */
import { badInput } from './errors.js';

export const MTU = { min: 68, max: 65535, ipv6Min: 1280 } as const;
export const VLAN_ID = { min: 1, max: 4094 } as const;
export const MACVLAN_MODES = ['bridge', 'private', 'vepa', 'passthru'] as const;
export const IPVLAN_MODES = ['l2', 'l3', 'l3s'] as const;
export const IPVLAN_FLAGS = ['bridge', 'private', 'vepa'] as const;

export type MacvlanMode = (typeof MACVLAN_MODES)[number];
export type IpvlanMode = (typeof IPVLAN_MODES)[number];
export type IpvlanFlag = (typeof IPVLAN_FLAGS)[number];

declare const mtuBrand: unique symbol;
declare const vlanBrand: unique symbol;
declare const macBrand: unique symbol;
export type Mtu = number & { readonly [mtuBrand]: true };
export type VlanId = number & { readonly [vlanBrand]: true };
/** Lowercase, colon-separated, unicast, 6 octets. */
export type Mac = string & { readonly [macBrand]: true };

const parseIntStrict = (value: string): number | undefined =>
  /^\d+$/.test(value) ? Number(value) : undefined;

export const parseMtu = (value: string | number, field: string): Mtu => {
  const n = typeof value === 'number' ? value : parseIntStrict(value);
  if (n === undefined || !Number.isInteger(n))
    throw badInput(
      'E_MTU_RANGE',
      field,
      String(value),
      'MTU is not a whole number',
      `give a number from ${MTU.min} to ${MTU.max}, e.g. 1500`,
    );
  if (n < MTU.min || n > MTU.max)
    throw badInput(
      'E_MTU_RANGE',
      field,
      String(value),
      `MTU out of range ${MTU.min}-${MTU.max}`,
      `give a number from ${MTU.min} to ${MTU.max} (IPv6 needs at least ${MTU.ipv6Min})`,
    );
  return n as Mtu;
};

export const parseVlanId = (value: string | number, field: string): VlanId => {
  const n = typeof value === 'number' ? value : parseIntStrict(value);
  if (n === undefined || n < VLAN_ID.min || n > VLAN_ID.max)
    throw badInput(
      'E_BAD_VALUE',
      field,
      String(value),
      `VLAN id must be ${VLAN_ID.min}-${VLAN_ID.max}`,
      `give a whole number from ${VLAN_ID.min} to ${VLAN_ID.max}, e.g. 10`,
    );
  return n as VlanId;
};

export const parseMac = (value: string, field: string): Mac => {
  const m = /^([0-9a-f]{2})([:-][0-9a-f]{2}){5}$/i.exec(value);
  if (!m)
    throw badInput(
      'E_BAD_MAC',
      field,
      value,
      'not a MAC address',
      'write six hex octets separated by ":", e.g. 02:00:00:00:00:10',
    );
  const mac = value.toLowerCase().replace(/-/g, ':');
  const first = parseInt(mac.slice(0, 2), 16);
  if (first & 1)
    throw badInput(
      'E_BAD_MAC',
      field,
      value,
      'multicast MAC address (lowest bit of the first octet is set)',
      'use a unicast address; locally administered ones start with 02, e.g. 02:00:00:00:00:10',
    );
  if (mac === '00:00:00:00:00:00')
    throw badInput(
      'E_BAD_MAC',
      field,
      value,
      'all-zero MAC address',
      'use a unicast address, e.g. 02:00:00:00:00:10',
    );
  return mac as Mac;
};

export const parseChoice = <T extends string>(
  value: string,
  choices: readonly T[],
  field: string,
  what: string,
): T => {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw badInput('E_BAD_VALUE', field, value, `unknown ${what}`, `use one of: ${choices.join(', ')}`);
};

/**
 * A duration in seconds, as `--timeout` takes it: a number ≥ 0 (fractions allowed; 0 means never).
 * @example parseSeconds('1.5', '--timeout') // 1.5
 */
export const parseSeconds = (value: string, field: string): number => {
  const n = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isFinite(n))
    throw badInput(
      'E_BAD_VALUE',
      field,
      value,
      'not a number of seconds',
      'give a number of seconds, e.g. 30 (0 waits for ever)',
    );
  return n;
};
