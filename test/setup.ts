// Loaded with --import before every test file: a process warning (deprecation, leaked listener,
// unhandled rejection turned warning, ...) fails the run loudly. ExperimentalWarning is exempt:
// Node 20 emits it for features the runner itself uses.
process.on('warning', (w) => {
  if (w.name === 'ExperimentalWarning') return;
  console.error(w);
  process.exitCode = 1;
  throw w;
});
