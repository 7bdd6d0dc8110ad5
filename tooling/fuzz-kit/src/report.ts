// A run's report as a person reads it, and its verdict: what makes it fail.
import type { FuzzReport } from "./engine.js";
import { mib, type Resources } from "./resources.js";

const count = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : `${n}`;

function delta(label: string, a: number, b: number, exact: boolean, tol?: string): string {
  const d = b - a;
  return `${label} ${a} -> ${b} (${d >= 0 ? "+" : ""}${d}${exact ? ", exact" : tol === undefined ? "" : `, tolerance ${tol}`})`;
}

function resourceLines(r: FuzzReport, start: Resources, end: Resources): string[] {
  const rss = end.rss - start.rss;
  const heap =
    r.heapStart === undefined || r.heapEnd === undefined
      ? ""
      : `; V8 heap in use ${mib(r.heapStart)} -> ${mib(r.heapEnd)} (tolerance +${mib(r.tolerance.heap)})`;
  return [
    `  ${delta("fds", start.fds, end.fds, true)}, ${delta("memfd mappings", start.memfdMaps, end.memfdMaps, true)}`,
    `  ${delta("mappings", start.maps, end.maps, false, `+${r.tolerance.maps}`)}, RSS ${mib(start.rss)} -> ${mib(end.rss)} (${rss >= 0 ? "+" : ""}${mib(rss)}, tolerance +${mib(r.tolerance.rss)}; peak ${mib(r.peakRss)})${heap}`,
  ];
}

/** The report, a few lines. */
export function formatReport(r: FuzzReport): string[] {
  const crashes = r.failures.filter((f) => f.kind === "crash").length;
  const hangs = r.failures.filter((f) => f.kind === "hang").length;
  const findings = r.failures.filter((f) => f.kind === "finding").length;
  const lines = [
    `fuzz ${r.target}: seed ${r.seed}, ${count(r.messages)} messages in ${r.sessions} sessions, ${r.seconds.toFixed(1)} s, ${count(Math.round(r.messagesPerSecond))} messages/s`,
    `  crashes ${crashes}, hangs ${hangs}, findings ${findings}`,
  ];
  if (r.start !== undefined && r.end !== undefined) lines.push(...resourceLines(r, r.start, r.end));
  else lines.push("  resources: not compared (the run did not end cleanly, or was too short for a baseline)");
  if (r.fresh !== undefined && r.start !== undefined)
    lines.push(
      `  at start-up: fds ${r.fresh.fds}, mappings ${r.fresh.maps}, RSS ${mib(r.fresh.rss)} (baseline taken after the warm-up)`,
    );
  const tally = Object.entries(r.tally).sort(([a], [b]) => a.localeCompare(b));
  if (tally.length > 0) lines.push(`  ${tally.map(([k, v]) => `${k} ${count(v)}`).join(", ")}`);
  for (const f of r.failures)
    lines.push(`  ${f.kind.toUpperCase()} in session ${f.session} (seed ${r.seed}), playing ${f.note}: ${f.message}`);
  for (const l of r.leaks) lines.push(`  LEAK: ${l}`);
  return lines;
}

/** What fails the run: every failure and every leak, as sentences. Empty: the run passed. */
export function verdict(r: FuzzReport): string[] {
  return [
    ...r.failures.map((f) => `${f.kind} in session ${f.session}: ${f.message}`),
    ...r.leaks.map((l) => `leak: ${l}`),
    ...(r.start === undefined || r.end === undefined ? ["resources were not compared"] : []),
  ];
}
