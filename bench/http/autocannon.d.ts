/**
 * The part of autocannon 8's programmatic API that the HTTP benchmark uses (the package ships no types, and
 * @types/autocannon is not a dependency). Shapes follow autocannon's lib/run.js and lib/aggregateResult.js.
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Options {
      url: string;
      connections?: number;
      /** Seconds; the run ends at the first sample tick after it. */
      duration?: number;
      pipelining?: number;
      /** Seconds before a request counts as timed out (and its connection is remade). */
      timeout?: number;
      /** Milliseconds between samples (and between checks of the deadline). */
      sampleInt?: number;
      headers?: Record<string, string>;
      /** Worker threads to run the connections in (default: none, the calling thread). */
      workers?: number;
      expectBody?: string;
    }

    interface Histogram {
      average: number;
      mean: number;
      stddev: number;
      min: number;
      max: number;
      total: number;
      p50: number;
      p90: number;
      p99: number;
    }

    interface Result {
      /** Seconds, from start to the tick that ended the run. */
      duration: number;
      errors: number;
      timeouts: number;
      mismatches: number;
      non2xx: number;
      resets: number;
      '1xx': number;
      '2xx': number;
      '3xx': number;
      '4xx': number;
      '5xx': number;
      /** Milliseconds (whole: autocannon's histogram keeps integers). */
      latency: Histogram;
      /** Per-sample counts; `total` is every completed response, `sent` every request written. */
      requests: Histogram & { sent: number };
      throughput: Histogram;
    }

    /** Emits 'response' (client, statusCode, bytes, responseTimeMs) and 'reqError' (error), among others. */
    interface Instance extends EventEmitter {
      stop(): void;
    }
  }

  function autocannon(
    options: autocannon.Options,
    callback: (error: Error | null, result: autocannon.Result) => void,
  ): autocannon.Instance;

  export = autocannon;
}
