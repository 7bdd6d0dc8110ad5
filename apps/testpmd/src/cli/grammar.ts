// Command syntax as help shows it ("show port stats all|<port_id>", "start tx_first [<n>]"), and what is done with
// it: matching a typed line, completing a partial one, and finding the command a mistyped line meant.

type Token =
  | { readonly kind: "words"; readonly words: readonly string[]; readonly value?: string; readonly optional: boolean }
  | { readonly kind: "value"; readonly name: string; readonly optional: boolean };

export interface Syntax {
  readonly text: string;
  readonly tokens: readonly Token[];
  /** The literal words before the first argument: "show port stats". */
  readonly prefix: readonly string[];
}

/** What completion may offer for a value: port ids for <port_id>, driver names for <devargs>, nothing for <path>. */
export type ValueHints = (name: string) => readonly string[];

export function parseSyntax(text: string): Syntax {
  const tokens: Token[] = text.split(" ").map((raw) => {
    const optional = raw.startsWith("[") && raw.endsWith("]");
    const t = optional ? raw.slice(1, -1) : raw;
    if (/^<\w+>$/.test(t)) return { kind: "value", name: t.slice(1, -1), optional };
    const alts = t.split("|");
    const value = alts.find((a) => /^<\w+>$/.test(a))?.slice(1, -1);
    const words = alts.filter((a) => !a.startsWith("<"));
    return value === undefined ? { kind: "words", words, optional } : { kind: "words", words, value, optional };
  });
  const prefix: string[] = [];
  for (const t of tokens) {
    if (t.kind !== "words" || t.words.length !== 1 || t.value !== undefined || t.optional) break;
    prefix.push(t.words[0]!);
  }
  return { text, tokens, prefix };
}

function accepts(t: Token, word: string): boolean {
  if (t.kind === "value") return t.name === "devargs" || t.name === "path" || /^\d+$/.test(word);
  return t.words.includes(word) || (t.value !== undefined && /^\d+$/.test(word));
}

/** The arguments (the words that are not the fixed prefix) if `words` is this command, else undefined. */
export function match(s: Syntax, words: readonly string[]): string[] | undefined {
  const args: string[] = [];
  let i = 0;
  for (const t of s.tokens) {
    const w = words[i];
    if (w === undefined) {
      if (t.optional) continue;
      return undefined;
    }
    if (!accepts(t, w)) return undefined;
    if (!(t.kind === "words" && t.words.length === 1 && t.value === undefined && !t.optional)) args.push(w);
    i++;
  }
  return i === words.length ? args : undefined;
}

/**
 * The commands whose usage answers `words`, a line that is no command: those it starts like (the fixed prefix typed,
 * each word after it one the command takes there: an argument missing or one too many), else those whose fixed
 * prefix it typed (an argument the command does not take); none when it typed no command's prefix.
 */
export function usageFor<S extends { readonly syntax: Syntax }>(commands: readonly S[], words: readonly string[]): S[] {
  const typed = commands.filter((c) => c.syntax.prefix.length > 0 && c.syntax.prefix.every((w, i) => words[i] === w));
  const fits = typed.filter(({ syntax: s }) => {
    const n = Math.min(words.length, s.tokens.length);
    for (let i = s.prefix.length; i < n; i++) if (!accepts(s.tokens[i]!, words[i]!)) return false;
    return true;
  });
  return fits.length > 0 ? fits : typed;
}

/** Candidates for the word being typed after `done` (the complete words before it). */
export function nextWords(s: Syntax, done: readonly string[], hints: ValueHints): readonly string[] {
  let i = 0;
  for (const t of s.tokens) {
    if (i === done.length) {
      if (t.kind === "value") return hints(t.name);
      return [...t.words, ...(t.value === undefined ? [] : hints(t.value))];
    }
    if (!accepts(t, done[i]!)) return [];
    i++;
  }
  return [];
}

/** Edit distance with adjacent transpositions (optimal string alignment): "strat" is 1 from "start". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}

/** The command a mistyped line most likely meant (by its leading words), or undefined when none is close. */
export function closest(all: readonly Syntax[], words: readonly string[]): Syntax | undefined {
  let best: Syntax | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const s of all) {
    const n = Math.max(1, s.prefix.length);
    const typed = words.slice(0, n).join(" ");
    const want = (s.prefix.length > 0 ? s.prefix : s.text.split(" ").slice(0, 1)).join(" ");
    const d = distance(typed, want);
    if (d < bestD) {
      bestD = d;
      best = s;
    }
  }
  if (best === undefined) return undefined;
  const size = best.prefix.join(" ").length || best.text.length;
  return bestD <= Math.max(2, Math.floor(size / 3)) ? best : undefined;
}
