/**
 * The CNI plugin executable (`pipefitter cni install` puts a launcher for it in the runtime's
 * plugin directory). SPEC.md section 2: the operation and the attachment parameters come in the
 * environment, the network configuration on stdin; the result (or the error object, with a
 * non-zero exit) goes to stdout, logs to stderr. The launcher runs this only when no
 * `pipefitter cni serve` answers for it (api/cni-serve.ts).
 *
 * Start-up time matters (the runtime waits on every ADD): api/cni-run.ts loads only the pure
 * decoding modules; each operation's effects load by dynamic import.
 */
import { runCniCall } from '../api/cni-run.js';

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

runCniCall({
  env: process.env,
  stdin: readStdin,
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`pipefitter: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
