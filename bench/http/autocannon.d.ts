/** The part of autocannon 8's API that bench/http/load.ts and scripts/soak.ts use (it ships no types). */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Options {
      url: string;
      connections?: number;
      /** Seconds; the run ends at the first sample tick after it. */
      duration?: number;
      pipelining?: number;
      /** Seconds before a request counts as timed out. */
      timeout?: number;
      /** Milliseconds between samples (and between checks of the deadline). */
      sampleInt?: number;
      headers?: Record<string, string>;
      expectBody?: string;
      /** Worker threads to run the connections in (default: none, the calling thread). */
      workers?: number;
    }

    interface Result {
      /** Seconds, from the start to the tick that ended the run. */
      duration: number;
      /** Connection errors, timeouts included. */
      errors: number;
      timeouts: number;
      /** Responses whose body was not `expectBody`. */
      mismatches: number;
      non2xx: number;
      '2xx': number;
    }

    /** Emits 'response' (client, statusCode, bytes, responseTimeMs), among others. */
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
