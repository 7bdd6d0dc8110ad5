// The run loop: one process under test, sessions played against it by a target until the message budget is spent, each
// session with its own seeded stream. Crashes (the process died), hangs (no answer within the deadline) and findings
// (a broken promise) are recorded with the session that found them; the process's fds, mappings and RSS are taken
// after a warm-up and again at the end, both after a settle with no peer connected, and compared.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FailureKind, FuzzFailure, isFuzzFailure } from "./failure.js";
import { DEFAULT_TOLERANCE, leaks, mib, probe, type Resources, type Tolerance } from "./resources.js";
import { Rng } from "./rng.js";
import { Subject, type SubjectSpec } from "./subject.js";

/** What a target gets for one session. */
export interface SessionContext {
  /** This session's own stream (`Rng.derive(seed, index)`): the same seed and index play the same inputs. */
  readonly rng: Rng;
  readonly index: number;
  /** About how many messages to send in this session. */
  readonly budget: number;
  readonly subject: Subject;
  /** A directory of the run (sockets, scratch files). */
  readonly dir: string;
  /** How long the subject may take to reply, close or answer before it counts as a hang. */
  readonly hangMs: number;
  /** Counts messages sent (the unit of the run). */
  sent(n?: number): void;
  /** What is being played now; a failure's report names it (a function is called only then). */
  note(what: string | (() => string)): void;
  /** Adds to a counter of the report (kinds of cases, how sessions ended). */
  tally(key: string, n?: number): void;
}

/**
 * A fuzz target: the process under test and how to play one session against it. The session throws a
 * `FuzzFailure` ("hang", "finding") for what it finds, or rejects with the subject's crash.
 */
export interface FuzzTarget {
  readonly name: string;
  subject(dir: string): SubjectSpec;
  session(ctx: SessionContext): Promise<void>;
  /** Resolves once the subject holds no peer any more (before a resource probe). */
  idle(subject: Subject, hangMs: number): Promise<void>;
  /** Resource tolerance (default `DEFAULT_TOLERANCE`). */
  readonly tolerance?: Tolerance;
  /** How many messages a session gets (default 1 + `rng.size(3000)`: most short, some long). */
  sessionBudget?(rng: Rng): number;
  /** Releases what the target set up for the run (e.g. a listening socket); called once at its end. */
  dispose?(): void;
}

export interface FuzzOptions {
  readonly seed: number;
  /** Messages to send in all. */
  readonly messages: number;
  /** Default 5000. */
  readonly hangMs?: number;
  /** Messages before the resource baseline is taken (default 5% of the run, at most 50 000). */
  readonly warmup?: number;
  /** The first session's number (default 0): start there to replay a session found failing. */
  readonly from?: number;
  /** Failures after which the run stops (default 1). */
  readonly maxFailures?: number;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
  /** Seconds between progress lines (default 10). */
  readonly progressEvery?: number;
}

export interface Failure {
  readonly kind: FailureKind;
  readonly message: string;
  readonly session: number;
  /** The case being played. */
  readonly note: string;
}

export interface FuzzReport {
  readonly target: string;
  readonly seed: number;
  readonly messages: number;
  readonly sessions: number;
  /** Wall time of the sessions (start-up and settles excluded). */
  readonly seconds: number;
  readonly messagesPerSecond: number;
  readonly failures: readonly Failure[];
  /** After start-up, before any session. */
  readonly fresh: Resources | undefined;
  /** After the warm-up (the baseline), and at the end; both with no peer and after a settle. */
  readonly start: Resources | undefined;
  readonly end: Resources | undefined;
  readonly peakRss: number;
  /** V8 heap in use after a full collection, at the baseline and at the end. */
  readonly heapStart: number | undefined;
  readonly heapEnd: number | undefined;
  /** Resources not back at their start (empty when they are; skipped after a crash or hang). */
  readonly leaks: readonly string[];
  readonly tolerance: Tolerance;
  readonly tally: Readonly<Record<string, number>>;
}

/** Settles the subject (no peer, garbage collected) and probes it. */
async function settled(target: FuzzTarget, subject: Subject, hangMs: number): Promise<[Resources, number]> {
  await target.idle(subject, hangMs);
  const mem = await subject.call<NodeJS.MemoryUsage>("settle", {}, hangMs * 2);
  return [probe(subject.pid), mem.heapUsed];
}

/** Runs `target` for `options.messages` messages and reports what it found. */
export async function runFuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const dir = mkdtempSync(join(tmpdir(), `emu-fuzz-${target.name.replace(/\W+/g, "-")}-`));
  try {
    const run = new FuzzRun(target, options, dir, await Subject.start(target.subject(dir)));
    return await run.play();
  } finally {
    target.dispose?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

class FuzzRun {
  private readonly target: FuzzTarget;
  private readonly options: FuzzOptions;
  private readonly dir: string;
  private readonly hangMs: number;
  private subject: Subject;
  private messages = 0;
  private note: string | (() => string) = "";
  private readonly tally: Record<string, number> = {};
  private readonly failures: Failure[] = [];
  private peakRss = 0;
  /** A crash or hang restarted the subject: the baseline no longer holds. */
  private restarted = false;
  private sessions = 0;
  private busyMs = 0;

  constructor(target: FuzzTarget, options: FuzzOptions, dir: string, subject: Subject) {
    this.target = target;
    this.options = options;
    this.dir = dir;
    this.hangMs = options.hangMs ?? 5000;
    this.subject = subject;
  }

  async play(): Promise<FuzzReport> {
    const o = this.options;
    const warmup = o.warmup ?? Math.min(50_000, Math.floor(o.messages / 20));
    const fresh = probe(this.subject.pid);
    let start: [Resources, number] | undefined;
    let end: [Resources, number] | undefined;
    let index = o.from ?? 0;
    let lastLog = Date.now();
    try {
      for (;;) {
        if (this.failures.length >= (o.maxFailures ?? 1)) break;
        if (start === undefined && this.messages >= warmup && !this.restarted)
          start = await settled(this.target, this.subject, this.hangMs);
        if (this.messages >= o.messages) break;
        await this.playSession(index++);
        if (Date.now() - lastLog >= (o.progressEvery ?? 10) * 1000) {
          lastLog = Date.now();
          this.progress();
        }
      }
      if (this.subject.alive && !this.restarted && this.failures.length === 0)
        end = await settled(this.target, this.subject, this.hangMs);
    } catch (e) {
      this.record(e, index);
    } finally {
      await this.subject.stop();
    }
    return this.report(fresh, start, end);
  }

  private progress(): void {
    const rss = probe(this.subject.pid).rss;
    this.peakRss = Math.max(this.peakRss, rss);
    this.options.log?.(
      `  ${this.target.name}: ${this.messages} messages, ${this.sessions} sessions, ${rate(this.messages, this.busyMs)}/s, RSS ${mib(rss)}`,
    );
  }

  private report(
    fresh: Resources,
    start: [Resources, number] | undefined,
    end: [Resources, number] | undefined,
  ): FuzzReport {
    const tolerance = this.target.tolerance ?? DEFAULT_TOLERANCE;
    if (end !== undefined) this.peakRss = Math.max(this.peakRss, end[0].rss);
    return {
      target: this.target.name,
      seed: this.options.seed,
      messages: this.messages,
      sessions: this.sessions,
      seconds: this.busyMs / 1000,
      messagesPerSecond: this.messages / (this.busyMs / 1000 || 1),
      failures: this.failures,
      fresh,
      start: start?.[0],
      end: end?.[0],
      peakRss: this.peakRss,
      heapStart: start?.[1],
      heapEnd: end?.[1],
      leaks:
        start !== undefined && end !== undefined
          ? leaks(start[0], end[0], tolerance, { start: start[1], end: end[1] })
          : [],
      tolerance,
      tally: this.tally,
    };
  }

  private context(index: number): SessionContext {
    const rng = Rng.derive(this.options.seed, index);
    return {
      rng,
      index,
      budget: this.target.sessionBudget?.(rng) ?? 1 + rng.size(3000),
      subject: this.subject,
      dir: this.dir,
      hangMs: this.hangMs,
      sent: (n = 1) => {
        this.messages += n;
      },
      note: (what) => {
        this.note = what;
      },
      tally: (key, n = 1) => {
        this.tally[key] = (this.tally[key] ?? 0) + n;
      },
    };
  }

  private async playSession(index: number): Promise<void> {
    this.note = "session start";
    const t0 = performance.now();
    try {
      await this.target.session(this.context(index));
      await this.subject.call("ping", {}, this.hangMs);
      this.takeEvents(index);
    } catch (e) {
      const fatal = this.takeEvents(index);
      if (!(fatal && isFuzzFailure(e) && e.kind === "crash")) this.record(e, index);
      if (!(isFuzzFailure(e) && e.kind === "finding" && this.subject.alive)) {
        // A crash or a hang: a fresh process for the sessions after it.
        await this.subject.kill();
        if (!fatal) this.takeEvents(index);
        this.restarted = true;
        this.subject = await Subject.start(this.target.subject(this.dir));
      }
    } finally {
      this.busyMs += performance.now() - t0;
      this.sessions++;
    }
  }

  /** The subject's own reports: "fatal" (the stack of what is about to kill it) and "finding". True if fatal. */
  private takeEvents(session: number): boolean {
    let fatal = false;
    for (const ev of this.subject.events.splice(0)) {
      if (ev.event === "fatal") {
        fatal = true;
        this.record(new FuzzFailure("crash", `${String(ev.what)}: ${String(ev.error)}`), session);
      } else if (ev.event === "finding") this.record(new FuzzFailure("finding", String(ev.message)), session);
    }
    return fatal;
  }

  private record(e: unknown, session: number): void {
    const kind: FailureKind = isFuzzFailure(e) ? e.kind : "finding";
    const message = isFuzzFailure(e)
      ? e.message
      : `the fuzzer itself failed: ${e instanceof Error ? e.stack : String(e)}`;
    const note = typeof this.note === "function" ? this.note() : this.note;
    this.failures.push({ kind, message, session, note });
  }
}

function rate(messages: number, ms: number): string {
  const r = messages / (ms / 1000 || 1);
  return r >= 1000 ? `${(r / 1000).toFixed(1)}k` : r.toFixed(0);
}
