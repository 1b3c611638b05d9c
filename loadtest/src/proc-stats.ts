/**
 * What a server process costs, read from Linux /proc: resident memory (VmRSS)
 * and CPU time (utime + stime). Only for processes on this machine.
 */
import { readdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

let ticksPerSecond: number | undefined;

/** Clock ticks per second used by /proc/PID/stat (getconf CLK_TCK; 100 on Linux). */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Resident set size in bytes. */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "latin1");
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`/proc/${pid}/status has no VmRSS line (process gone?)`);
  return Number(m[1]) * 1024;
}

/** User + system CPU time consumed so far, in microseconds. */
export function readCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot read utime/stime from /proc/${pid}/stat`);
  return ((utime + stime) * 1_000_000) / clockTicks();
}

export interface ProcSample {
  rssBytes: number;
  cpuMicros: number;
}

export function sample(pid: number): ProcSample {
  return { rssBytes: readRssBytes(pid), cpuMicros: readCpuMicros(pid) };
}

/** CPU of the main (JavaScript) thread and of all threads, from /proc/PID/task/TID/schedstat (ns, exact). */
export interface ThreadSample {
  /** The main thread's run time, µs. */
  mainMicros: number;
  /** All threads' run time (V8's GC and compiler helpers, libuv's pool, …), µs. */
  allMicros: number;
  /** The main thread's voluntary context switches: how often it went to sleep (an idle event loop waiting in epoll), so roughly its wake-ups. */
  mainWakeups: number;
}

export function sampleThreads(pid: number): ThreadSample {
  let allNs = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      allNs += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "latin1").split(" ")[0]);
    } catch {
      /* the thread ended meanwhile */
    }
  }
  const mainNs = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "latin1").split(" ")[0]);
  const m = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, "latin1"));
  return { mainMicros: mainNs / 1000, allMicros: allNs / 1000, mainWakeups: m ? Number(m[1]) : 0 };
}
