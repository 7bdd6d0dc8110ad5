// The interactive prompt: lines read with node:readline (tab completion from the command table), run one at a
// time, errors printed as messages; an unknown command gets the closest one as a suggestion.
import { createInterface, type Interface } from "node:readline";
import { describeError } from "../app.js";
import { COMMANDS, type Context } from "./commands.js";
import { closest, match, nextWords, usageFor, type ValueHints } from "./grammar.js";
import { helpText } from "./help.js";

const PROMPT = "testpmd> ";

/** Runs one typed line. */
async function runLine(ctx: Omit<Context, "help">, line: string): Promise<void> {
  const words = line
    .trim()
    .split(/\s+/)
    .filter((w) => w !== "");
  if (words.length === 0) return;
  const full: Context = { ...ctx, help: (s) => ctx.app.out(helpText(s)) };
  for (const c of COMMANDS) {
    const args = match(c.syntax, words);
    if (args === undefined) continue;
    try {
      await c.run(full, args);
    } catch (e) {
      ctx.app.out(`${describeError(e)}\n`);
    }
    return;
  }
  const started = usageFor(COMMANDS, words);
  if (started.length > 0) {
    ctx.app.out(`Bad arguments\nUsage: ${started.map((c) => c.syntax.text).join("\n       ")}\n`);
    return;
  }
  const guess = closest(
    COMMANDS.map((c) => c.syntax),
    words,
  );
  ctx.app.out(`Command not found${guess === undefined ? "" : `: did you mean "${guess.text}"?`}\n`);
}

/** Readline's completer: the words that may come next, filtered by what is typed of the last one. */
function completer(hints: ValueHints): (line: string) => [string[], string] {
  return (line) => {
    const endsWithSpace = /\s$/.test(line);
    const words = line
      .trim()
      .split(/\s+/)
      .filter((w) => w !== "");
    const partial = endsWithSpace || words.length === 0 ? "" : words.pop()!;
    const set = new Set<string>();
    for (const c of COMMANDS) for (const w of nextWords(c.syntax, words, hints)) if (w.startsWith(partial)) set.add(w);
    const hits = [...set].sort();
    return [hits.length === 1 ? [`${hits[0]} `] : hits, partial];
  };
}

export interface PromptIo {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  readonly terminal: boolean;
}

/** Reads and runs commands until quit, end of input or `signal`. */
export async function promptLoop(
  ctx: Omit<Context, "help" | "quit">,
  io: PromptIo,
  hints: ValueHints,
  signal?: AbortSignal,
): Promise<void> {
  const rl: Interface = createInterface({
    input: io.input,
    output: io.output,
    prompt: PROMPT,
    completer: completer(hints),
    terminal: io.terminal,
  });
  let done = false;
  const finish = () => {
    done = true;
    rl.close();
  };
  rl.on("SIGINT", finish); // Ctrl-C at the prompt quits, as a signal does
  signal?.addEventListener("abort", finish, { once: true });
  try {
    rl.prompt();
    for await (const line of rl) {
      await runLine({ ...ctx, quit: finish }, line);
      if (done) break;
      rl.prompt();
    }
  } finally {
    signal?.removeEventListener("abort", finish);
    rl.close();
  }
}
