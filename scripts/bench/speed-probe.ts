/**
 * How fast this machine runs at the moment, measured beside a benchmark's load.
 *
 * On a virtual machine whose host lends its cores to other guests, the same work takes a different
 * amount of CPU time from one second to the next, and the guest sees no steal time to tell it (seen
 * on the 2-core machine these benches run on: a fixed loop took 6.1 ms, then 11 ms twenty seconds
 * later; a `write(2)` to /dev/null 2.3 µs, then 4.7 µs). Every CPU figure a bench reports moves with
 * it, and so does every latency. The probe says which of those spells a measurement fell in.
 *
 * Every `intervalMs` it runs a fixed piece of work in the calling process (the bench's driver, idle
 * while the load runs) and times it in CPU time (`process.cpuUsage`), not wall time: waiting for a
 * core that the load keeps busy does not count, only how fast the core runs once it has it. The work
 * is a loop of integer arithmetic (`jsUs`, the CPU the whole loop took) and a run of one-byte writes
 * to /dev/null (`syscallUs`, per call: system calls are what a virtual machine makes dearest). It
 * costs the machine about 0.5 % of a core at the default interval. It does not see the caches and
 * memory the host shares: a random chase through 32 MiB, tried beside it, ran 5–6× slower under the
 * bench's own load than before it, so it measured the load rather than the machine.
 *
 * @example
 * const idle = probeSpeedNow();            // before the load: the machine's speed when quiet
 * const probe = startSpeedProbe();
 * await load();
 * const during = probe.stop();             // { jsUs, syscallUs, samples }, medians over the load
 * console.log(`${(during.jsUs / idle.jsUs).toFixed(2)}× the idle CPU time for the same work`);
 */
import { closeSync, openSync, writeSync } from "node:fs";

/** The probe's medians: CPU µs of the fixed loop, and CPU µs per system call. */
export interface SpeedReading {
  jsUs: number;
  syscallUs: number;
  samples: number;
}

const LOOP_ITERATIONS = 200_000;
const SYSCALLS = 40;
const ONE_BYTE = Buffer.alloc(1);

function loop(): number {
  let x = 0x811c9dc5;
  for (let i = 0; i < LOOP_ITERATIONS; i++) x = Math.imul(x ^ i, 0x01000193);
  return x;
}

function cpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/**
 * One sample: the loop's CPU time, and the CPU time per write to /dev/null. The loop's result goes
 * out with it (`checksum`, read by no one) so the compiler cannot drop the loop as unused.
 */
function sample(fd: number): { jsUs: number; syscallUs: number; checksum: number } {
  const t0 = cpuUs();
  const checksum = loop();
  const t1 = cpuUs();
  for (let i = 0; i < SYSCALLS; i++) writeSync(fd, ONE_BYTE);
  const t2 = cpuUs();
  return { jsUs: t1 - t0, syscallUs: (t2 - t1) / SYSCALLS, checksum };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function reading(samples: { jsUs: number; syscallUs: number }[]): SpeedReading {
  return {
    jsUs: median(samples.map((s) => s.jsUs)),
    syscallUs: median(samples.map((s) => s.syscallUs)),
    samples: samples.length,
  };
}

/** Probes now, `count` times in a row (the first few, while the loop gets compiled, are dropped). */
export function probeSpeedNow(count = 30): SpeedReading {
  const fd = openSync("/dev/null", "w");
  try {
    for (let i = 0; i < 10; i++) sample(fd);
    return reading(Array.from({ length: count }, () => sample(fd)));
  } finally {
    closeSync(fd);
  }
}

/** Probes every `intervalMs` until `stop()`, which answers the medians over that time. */
export function startSpeedProbe(intervalMs = 100): { stop(): SpeedReading } {
  const fd = openSync("/dev/null", "w");
  const samples: { jsUs: number; syscallUs: number }[] = [];
  const timer = setInterval(() => samples.push(sample(fd)), intervalMs);
  return {
    stop() {
      clearInterval(timer);
      closeSync(fd);
      return reading(samples);
    },
  };
}
