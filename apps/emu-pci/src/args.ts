/**
 * The `emu-pci` command line as words: the command, its operands, and the options given, checked against what each
 * command accepts. The spellings of dpdk-devbind (`-s`/`--status`, `--usage`) and mdevctl (`start`/`stop`,
 * `-p`/`--parent`, `-t`/`--type`, `-u`/`--uuid`) are accepted as aliases of ours.
 */

/** A mistake in the command line: printed with the usage, exit status 2. */
export class UsageError extends Error {
  readonly _tag = "UsageError" as const;
  override readonly name = "UsageError";
}

export function isUsageError(e: unknown): e is UsageError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "UsageError";
}

/** Options that take a value, by every spelling, to their canonical name. */
const VALUED: Readonly<Record<string, string>> = {
  "--sysfs": "sysfs",
  "--pci-ids": "pci-ids",
  "--parent": "parent",
  "-p": "parent",
  "--type": "type",
  "-t": "type",
  "--uuid": "uuid",
  "-u": "uuid",
};

/** Options without a value, by every spelling, to their canonical name. */
const FLAGS: Readonly<Record<string, string>> = {
  "--json": "json",
  "--help": "help",
  "-h": "help",
  "--usage": "help",
  "--version": "version",
  "-V": "version",
  "--status": "status",
  "-s": "status",
};

/** The options every command accepts. */
const GLOBAL = new Set(["sysfs", "pci-ids", "help", "version", "status"]);

/** What each command accepts besides the global options, and how many operands. */
const COMMANDS: Readonly<Record<string, { readonly options: readonly string[]; readonly operands: number }>> = {
  status: { options: [], operands: 0 },
  list: { options: ["json"], operands: 0 },
  help: { options: [], operands: 0 },
  "mdev list": { options: ["parent", "uuid"], operands: 0 },
  "mdev types": { options: ["parent"], operands: 0 },
  "mdev create": { options: ["parent", "type", "uuid"], operands: 0 },
  "mdev remove": { options: ["uuid"], operands: 1 },
};

/** mdevctl's verbs for ours. */
const MDEV_ALIASES: Readonly<Record<string, string>> = { start: "create", stop: "remove" };

export interface ParsedArgs {
  /** "status", "list", "help", "mdev list", "mdev types", "mdev create", "mdev remove". */
  readonly command: string;
  readonly operands: readonly string[];
  /** Canonical option name → value ("" for a flag). */
  readonly options: ReadonlyMap<string, string>;
}

function splitWords(argv: readonly string[]): { words: string[]; given: Map<string, [string, string]> } {
  const words: string[] = [];
  const given = new Map<string, [string, string]>(); // name → [spelling, value]
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      words.push(a);
      continue;
    }
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const spelling = eq < 0 ? a : a.slice(0, eq);
    const valued = VALUED[spelling];
    if (valued !== undefined) {
      const value = eq < 0 ? argv[++i] : a.slice(eq + 1);
      if (value === undefined || value === "" || value.startsWith("-"))
        throw new UsageError(`${spelling} needs a value`);
      given.set(valued, [spelling, value]);
      continue;
    }
    const flag = FLAGS[spelling];
    if (flag === undefined || eq >= 0) throw new UsageError(`unknown option ${a}`);
    given.set(flag, [spelling, ""]);
  }
  return { words, given };
}

/** The command a list of words names, with its operands. */
function commandOf(words: readonly string[], status: boolean): { command: string; operands: string[] } {
  const [first, second, ...rest] = words;
  if (first === undefined) return { command: "status", operands: [] };
  if (status) throw new UsageError(`-s/--status takes no command (got "${first}")`);
  if (first !== "mdev") {
    if (COMMANDS[first] === undefined) throw new UsageError(`unknown command "${first}"`);
    return { command: first, operands: words.slice(1) };
  }
  if (second === undefined) throw new UsageError("mdev needs a command: list, types, create (start) or remove (stop)");
  const sub = MDEV_ALIASES[second] ?? second;
  if (COMMANDS[`mdev ${sub}`] === undefined) throw new UsageError(`unknown mdev command "${second}"`);
  return { command: `mdev ${sub}`, operands: rest };
}

/** Parses and checks a command line; a mistake throws a {@link UsageError}. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const { words, given } = splitWords(argv);
  const { command, operands } = commandOf(words, given.has("status"));
  const spec = COMMANDS[command] as (typeof COMMANDS)[string];
  for (const [name, [spelling]] of given) {
    if (!GLOBAL.has(name) && !spec.options.includes(name))
      throw new UsageError(`option ${spelling} does not apply to "${command}"`);
  }
  if (operands.length > spec.operands) throw new UsageError(`unexpected argument "${operands[spec.operands]}"`);
  return { command, operands, options: new Map([...given].map(([name, [, value]]) => [name, value])) };
}
