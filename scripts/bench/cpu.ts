/**
 * CPU counters of this machine for the benchmarks (Linux /proc; empty elsewhere): of chosen
 * processes, of every Postgres process, and of the whole machine, so a bench can say what each
 * request cost the server, the database and everything else.
 *
 * @example
 * const before = cpuSample([serverPid]);
 * await load();
 * const used = cpuBetween(before, cpuSample([serverPid])); // { processes, postgres, machine } in seconds
 */
import { readdirSync, readFileSync } from "node:fs";

/** CPU seconds at one moment: of the given processes, of every `postgres` process, and of the whole machine. */
export interface CpuSample {
  processes: Map<number, number>;
  postgres: Map<number, number>;
  machineBusy: number;
}

const TICK = 100; // USER_HZ on Linux

function processSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return null; // ended meanwhile, or no /proc
  }
}

/** Reads the CPU counters (Linux /proc; empty elsewhere). */
export function cpuSample(pids: readonly number[]): CpuSample {
  const processes = new Map<number, number>();
  for (const pid of pids) processes.set(pid, processSeconds(pid) ?? 0);
  const postgres = new Map<number, number>();
  let machineBusy = 0;
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (!readFileSync(`/proc/${entry}/comm`, "utf8").startsWith("postgres")) continue;
      } catch {
        continue;
      }
      const seconds = processSeconds(Number(entry));
      if (seconds !== null) postgres.set(Number(entry), seconds);
    }
    const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    machineBusy = ticks.slice(0, 8).reduce((sum, t, i) => (i === 3 || i === 4 ? sum : sum + t), 0) / TICK;
  } catch {
    // no /proc
  }
  return { processes, postgres, machineBusy };
}

/** CPU seconds spent between two samples: by each given process, by Postgres (processes that ended are not counted), by the machine. */
export function cpuBetween(before: CpuSample, after: CpuSample) {
  const processes = new Map<number, number>();
  for (const [pid, seconds] of after.processes) processes.set(pid, seconds - (before.processes.get(pid) ?? 0));
  let postgres = 0;
  for (const [pid, seconds] of after.postgres) postgres += seconds - (before.postgres.get(pid) ?? 0);
  return { processes, postgres, machine: after.machineBusy - before.machineBusy };
}
