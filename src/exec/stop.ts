/**
 * What a stop signal does while pipefitter changes a host: SIGINT, SIGTERM and SIGHUP (a
 * terminal, `timeout`, systemd, Docker) are held — noted, not obeyed at once — from the moment a
 * run takes the host lock until it gives it back, so that a run never dies half-way: the
 * executor sees the signal between two steps and rolls back (exit 130), and one that comes after
 * the last change lets the run finish writing its state, then ends the process as the signal
 * would have. Outside (reading, planning, a dry run) they act as usual: nothing was changed.
 */
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

let depth = 0;
let caught: NodeJS.Signals | undefined;
const onSignal = (s: NodeJS.Signals): void => {
  caught ??= s;
};

/**
 * Hold the stop signals until the returned function is called (nested holds count). The last
 * release re-raises a signal nobody took (see takeStop).
 */
export const holdSignals = (): (() => void) => {
  if (depth++ === 0) for (const s of SIGNALS) process.on(s, onSignal);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--depth > 0) return;
    for (const s of SIGNALS) process.off(s, onSignal);
    const s = caught;
    caught = undefined;
    if (s) process.kill(process.pid, s);
  };
};

/** The signal that came while held, if any (it stays pending). */
export const stopSignal = (): NodeJS.Signals | undefined => caught;

/** The executor answered it (rolled back): it is not raised again at the release. */
export const takeStop = (): NodeJS.Signals | undefined => {
  const s = caught;
  caught = undefined;
  return s;
};

/** Let a signal that arrived be noted: one turn of the event loop (signals come in its poll phase). */
export const letSignalsIn = (): Promise<void> => new Promise((r) => setImmediate(r));
