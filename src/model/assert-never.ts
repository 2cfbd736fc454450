export const assertNever = (x: never, what = 'value'): never => {
  throw new Error(`internal: unhandled ${what}: ${JSON.stringify(x)}`);
};
