// The process under test's side of `Subject`: answers the fuzzer's calls over IPC, reports what it finds as events,
// and turns an uncaught exception or unhandled rejection into a reported crash (the fuzzer gets the stack, then the
// exit). Built-in ops: `ping` (the event loop turns), `settle` (collect garbage, then the heap's figures).

type Op = (args: Record<string, unknown>) => unknown;

function send(m: Record<string, unknown>, then?: () => void): void {
  if (process.send === undefined) {
    then?.();
    return;
  }
  process.send(m, undefined, {}, () => then?.());
}

/** Sends an event (`{ event, ...fields }`) to the fuzzer. */
export function reportEvent(event: string, fields: Record<string, unknown> = {}): void {
  send({ event, ...fields });
}

let dying = false;

/** The first uncaught failure is reported (with its stack), then the process exits; later ones are the same death. */
function fatal(what: string, e: unknown): void {
  if (dying) return;
  dying = true;
  const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
  send({ event: "fatal", what, error }, () => process.exit(70));
  setTimeout(() => process.exit(70), 1000).unref();
}

async function settle(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 20));
    gc?.();
  }
  return process.memoryUsage();
}

/** Serves `ops` (plus ping and settle) to the fuzzer and says it is ready. Exits when the fuzzer goes away. */
export function serveAsSubject(ops: Record<string, Op>): void {
  process.on("uncaughtException", (e) => fatal("uncaught exception", e));
  process.on("unhandledRejection", (e) => fatal("unhandled rejection", e));
  process.on("disconnect", () => process.exit(0));
  const all: Record<string, Op> = { ping: () => true, settle, ...ops };
  process.on("message", (m: { id: number; op: string; args: Record<string, unknown> }) => {
    const op = all[m.op];
    if (op === undefined) {
      send({ id: m.id, ok: false, error: `no op ${m.op}` });
      return;
    }
    Promise.resolve()
      .then(() => op(m.args ?? {}))
      .then(
        (value) => send({ id: m.id, ok: true, value }),
        (e: unknown) => send({ id: m.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
      );
  });
  send({ ready: true });
}
