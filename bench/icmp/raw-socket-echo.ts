/**
 * sockshard's own ICMP pieces on one thread, no rings: the coordinator's raw socket (IcmpSocket), its
 * demultiplexer (own requests dropped, replies routed), and a shard's ping tracker fed in the same thread.
 * This is the floor under the engine path: the engine adds two ring hops and a thread switch each way.
 */
import { IcmpSocket } from '../../src/engine/icmp-socket.js';
import { IcmpPermissionError } from '../../src/errors.js';
import {
  formatIpv4,
  IcmpDemux,
  type PingResult,
  PingTracker,
  parseIpv4,
  systemClock,
  writeEchoRequest,
} from '../../src/icmp/index.js';
import { type EchoOutcome, quantiles } from './figures.js';

export interface EchoWorkload {
  /** Targets 127.0.0.1, 127.0.0.2, ... */
  readonly targets: number;
  /** Probes per target. */
  readonly count: number;
  /** Per-target period, ms (0: next probe as soon as the window allows). */
  readonly intervalMs: number;
  /** Probes in flight per target (ping's -l). */
  readonly window: number;
}

const TIMEOUT_MS = 1_000;
const RECEIVE_BUFFER = 4 << 20;

export async function rawSocketEcho(workload: EchoWorkload): Promise<EchoOutcome> {
  let icmp: IcmpSocket;
  try {
    icmp = IcmpSocket.open({ receiveBufferSize: RECEIVE_BUFFER });
  } catch (error) {
    if (error instanceof IcmpPermissionError) return { skipped: 'needs root or CAP_NET_RAW' };
    throw error;
  }
  try {
    const demux = new IcmpDemux({ shards: 1, identifierSpan: 65_536, udpPortOwner: () => -1 });
    const scratch = new Uint8Array(256);
    let sendErrors = 0;
    const tracker = new PingTracker({
      identifierStart: 0,
      identifierEnd: 65_536,
      send: (probe) => {
        const length = writeEchoRequest(scratch, 0, probe);
        try {
          icmp.sendNow(scratch, 0, length, probe.target);
        } catch {
          sendErrors++; // counted as sent and lost, as ping does on a local send error
        }
        return true;
      },
    });
    icmp.onPacket((packet) => {
      const route = demux.dispatch(packet);
      if (route.ok) tracker.handle(route.packet, systemClock.now());
    });
    const rtts: number[] = [];
    const started = performance.now();
    const base = parseIpv4('127.0.0.1');
    const results: PingResult[] = await Promise.all(
      Array.from({ length: workload.targets }, (_, i) =>
        tracker.ping(formatIpv4(base + i), {
          count: workload.count,
          intervalMs: workload.intervalMs,
          maxInFlight: workload.window,
          timeoutMs: TIMEOUT_MS,
          onProbe: (outcome) => {
            if (outcome.status === 'reply') rtts.push(outcome.rttMs);
          },
        }),
      ),
    );
    const elapsedMs = performance.now() - started;
    tracker.close();
    const sent = results.reduce((sum, result) => sum + result.transmitted, 0);
    const received = results.reduce((sum, result) => sum + result.received, 0);
    if (sendErrors > 0) console.warn(`raw socket: ${sendErrors} sends failed`);
    return {
      roundTripsPerSecond: received / (elapsedMs / 1_000),
      sent,
      received,
      lossPercent: ((sent - received) * 100) / sent,
      ...quantiles(rtts),
    };
  } finally {
    icmp.close();
  }
}
