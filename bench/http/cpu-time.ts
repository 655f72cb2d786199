/**
 * CPU accounting from /proc (Linux), read by the orchestrator around each measurement: what the server's
 * processes used (every thread included) and how busy the whole machine was. The benchmark's processes
 * share the machine's cores, so these figures say who had them. Off Linux they are NaN.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

function clockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

const TICKS_PER_SECOND = clockTicks();
// proc(5): in /proc/PID/stat, utime and stime are fields 14 and 15. Field 2 (the command in parentheses) may
// hold spaces, so fields are counted from the one after its closing ')', which is field 3.
const FIRST_FIELD_AFTER_COMMAND = 3;
const UTIME = 14 - FIRST_FIELD_AFTER_COMMAND;
const STIME = 15 - FIRST_FIELD_AFTER_COMMAND;

/** User + system CPU of the processes (all their threads), in seconds; NaN if one cannot be read. */
export function processCpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[UTIME]) + Number(fields[STIME]);
    } catch {
      return Number.NaN;
    }
  }
  return ticks / TICKS_PER_SECOND;
}

export interface MachineTimes {
  readonly busy: number;
  readonly total: number;
}

/** Machine-wide CPU ticks from the first line of /proc/stat (user nice system idle iowait irq softirq steal). */
export function machineTimes(): MachineTimes {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map(Number);
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    return { busy, total: busy + idle! + iowait! };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

/** The fraction (0..1) of all cores that was busy between two readings. */
export function busyFraction(before: MachineTimes, after: MachineTimes): number {
  return (after.busy - before.busy) / (after.total - before.total);
}
