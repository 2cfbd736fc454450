/**
 * What a recipe made, kept between runs so that `apply` can prune and `destroy` can remove
 * exactly it — even after the recipe file changed: the targets it touched and the namespaces
 * it created. Links themselves carry their owner in their tags; this file only finds them.
 */
import { mkdir, readFile, readdir, rm, rmdir } from 'node:fs/promises';
import { parseTargetSpec } from '../model/target.js';
import { stateRoot } from '../paths.js';
import { writeFileAtomic } from './atomic.js';
import { BadState as Bad, isObject, optional, readStateFile, str, strings } from './state-file.js';

export interface RecipeState {
  readonly version: 1;
  readonly name: string;
  /** The recipe file (absolute) and the --set values it was applied with: enough to load it again. */
  readonly file: string;
  readonly vars?: Readonly<Record<string, string>> | undefined;
  /** Every target the recipe touched: identity and how to find it again. */
  readonly targets: readonly { readonly id: string; readonly spec: string }[];
  readonly createdNamespaces: readonly string[];
  /** Targets (ids) where the recipe turned forwarding on. */
  readonly forwarding?: readonly string[] | undefined;
  /** IPv4 forwarding was off before the recipe's NAT turned it on. */
  readonly ipForwardWasOff?: boolean | undefined;
  readonly appliedAt: string;
  /** SHA-256 of the recipe text applied, whose parsed document is kept (parsed/SHA.json). */
  readonly parsed?: string | undefined;
  /**
   * Containers removed for good (seen so by `watch`) whose part was released: their pool leases
   * went back, the ports published to their addresses were taken out. Left out by apply, status
   * and plan until the container is there again; an apply then gives it a lease anew.
   */
  readonly released?: readonly ReleasedContainer[] | undefined;
}

/** A container of the recipe removed for good, and what was released with it. */
export interface ReleasedContainer {
  /** The recipe's name for it. */
  readonly container: string;
  /** Its target as written (`docker:web`). */
  readonly target: string;
  /** Its addresses then (static and leased), to which no port is published while it is gone. */
  readonly addresses: readonly string[];
  readonly at: string;
}

const fileOf = (name: string): string => `${stateRoot()}/recipes/${name}.json`;

/**
 * Every field checked, as a link's tag is: the file is text anyone can edit, and a wrong type
 * would otherwise surface as a TypeError half-way through a destroy.
 */
export const checkRecipeState = (data: unknown, name: string): RecipeState => {
  if (!isObject(data)) throw new Bad('expected an object { "version": 1, "name": … }');
  if (data.version !== 1) throw new Bad(`version ${JSON.stringify(data.version)}: expected 1`);
  if (data.name !== name) throw new Bad(`name ${JSON.stringify(data.name)}: expected "${name}"`);
  const vars = optional(data.vars, (v) => {
    if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string'))
      throw new Bad('vars must map names to strings');
    return v as Record<string, string>;
  });
  if (!Array.isArray(data.targets)) throw new Bad('targets must be a list of { id, spec }');
  const targets = (data.targets as unknown[]).map((t, i) => {
    if (!isObject(t)) throw new Bad(`targets[${i}] must be { id, spec }`);
    const spec = str(t.spec, `targets[${i}].spec`);
    try {
      parseTargetSpec(spec);
    } catch {
      throw new Bad(`targets[${i}].spec ${JSON.stringify(spec)} is not a target (pid:N, netns:NAME, …)`);
    }
    return { id: str(t.id, `targets[${i}].id`), spec };
  });
  const ipForwardWasOff = optional(data.ipForwardWasOff, (v) => {
    if (typeof v !== 'boolean') throw new Bad('ipForwardWasOff must be true or false');
    return v;
  });
  const parsed = optional(data.parsed, (v) => {
    if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw new Bad('parsed must be a SHA-256 in hex');
    return v;
  });
  const released = optional(data.released, (v) => {
    if (!Array.isArray(v)) throw new Bad('released must be a list of { container, target, addresses, at }');
    return v.map((x: unknown, i): ReleasedContainer => {
      if (!isObject(x)) throw new Bad(`released[${i}] must be { container, target, addresses, at }`);
      return {
        container: str(x.container, `released[${i}].container`),
        target: str(x.target, `released[${i}].target`),
        addresses: strings(x.addresses, `released[${i}].addresses`),
        at: str(x.at, `released[${i}].at`),
      };
    });
  });
  return {
    version: 1,
    name,
    file: str(data.file, 'file'),
    ...(vars !== undefined ? { vars } : {}),
    targets,
    createdNamespaces: strings(data.createdNamespaces, 'createdNamespaces'),
    ...(data.forwarding !== undefined ? { forwarding: strings(data.forwarding, 'forwarding') } : {}),
    ...(ipForwardWasOff !== undefined ? { ipForwardWasOff } : {}),
    appliedAt: str(data.appliedAt, 'appliedAt'),
    ...(parsed !== undefined ? { parsed } : {}),
    ...(released?.length ? { released } : {}),
  };
};

export const readRecipeState = (name: string): Promise<RecipeState | undefined> =>
  readStateFile(
    fileOf(name),
    'recipe state',
    (data) => checkRecipeState(data, name),
    "then apply and destroy find the recipe's links by their tags, but not the namespaces it created",
  );

/** Every recipe with a state: applied and not destroyed. */
export const listRecipeStates = async (): Promise<RecipeState[]> => {
  const names = (await readdir(`${stateRoot()}/recipes`).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5));
  const out: RecipeState[] = [];
  for (const n of names) {
    const s = await readRecipeState(n);
    if (s) out.push(s);
  }
  return out;
};

export const writeRecipeState = async (s: RecipeState): Promise<void> => {
  await mkdir(`${stateRoot()}/recipes`, { recursive: true, mode: 0o700 });
  await writeFileAtomic(fileOf(s.name), JSON.stringify(s, null, 2) + '\n');
};

export const removeRecipeState = async (name: string): Promise<void> => {
  await rm(fileOf(name), { force: true });
};

// The parsed YAML of applied recipe texts, by SHA-256: parsing 500 containers' YAML costs more
// CPU than observing them. Written by a successful apply, removed with the state that names it.
const parsedFile = (sha256: string): string => `${stateRoot()}/recipes/parsed/${sha256}.json`;

/** The document kept for this text, if any (anything unreadable is no document: parse again). */
export const readParsed = async (sha256: string): Promise<unknown> => {
  if (!/^[0-9a-f]{64}$/.test(sha256)) return undefined;
  try {
    return (JSON.parse(await readFile(parsedFile(sha256), 'utf8')) as { raw?: unknown }).raw;
  } catch {
    return undefined;
  }
};

export const writeParsed = async (sha256: string, raw: unknown): Promise<void> => {
  await mkdir(`${stateRoot()}/recipes/parsed`, { recursive: true, mode: 0o700 });
  await writeFileAtomic(parsedFile(sha256), JSON.stringify({ raw }));
};

export const removeParsed = async (sha256: string | undefined): Promise<void> => {
  if (sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256)) return;
  await rm(parsedFile(sha256), { force: true });
  // the directory goes with its last file
  await rmdir(`${stateRoot()}/recipes/parsed`).catch(() => undefined);
};
