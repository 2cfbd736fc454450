/** A decoded route's destination as `ip -j route` prints it: `default`, a host route bare, else address/prefix. */
export const ipDstText = (r: {
  readonly family: 4 | 6;
  readonly dst?: string | undefined;
  readonly dstLen: number;
}): string =>
  r.dst === undefined ? 'default' : r.dstLen === (r.family === 4 ? 32 : 128) ? r.dst : `${r.dst}/${r.dstLen}`;
