import type { ShardContext, UdpHandler } from '../handler.js';
import { type UdpSettings, udpCounterBase } from '../protocol.js';
import type {
  DatagramListener,
  ListenerKindModule,
  ListenerSetup,
  ShardServices,
} from './served-listener.js';
import { UdpBatchedPort } from './udp-batched-port.js';
import { UdpDgramPort } from './udp-dgram-port.js';
import { UdpCounterLine, type UdpPort } from './udp-port.js';

/** `engine.udp()`: the UDP sockets the coordinator bound and handed to this shard, one `UdpPort` each. */
class UdpListener implements DatagramListener {
  readonly transport = 'datagram';
  readonly #listenerId: number;
  readonly #settings: UdpSettings;
  readonly #handler: UdpHandler;
  readonly #context: ShardContext;
  readonly #shard: ShardServices;
  readonly #ports: UdpPort[] = [];
  /** Each served port's counter line, by port (for ICMP errors about it). */
  readonly #lines = new Map<number, UdpCounterLine>();

  constructor({ spec, handler, context, shard }: ListenerSetup) {
    this.#listenerId = spec.id;
    this.#settings = spec.udp!;
    this.#handler = handler as UdpHandler;
    this.#context = context;
    this.#shard = shard;
  }

  async open(fd: number, port: number, portIndex: number): Promise<void> {
    const shard = this.#shard;
    const counters = new UdpCounterLine(
      shard.udpCounters,
      udpCounterBase(portIndex, shard.shards, shard.shardId),
    );
    const options = {
      fd,
      port,
      settings: this.#settings,
      handler: this.#handler,
      context: this.#context,
      counters,
      reportHandlerError: (error: unknown) => shard.reportHandlerError(this.#listenerId, error),
      reportFault: (error: unknown) => shard.reportFault(this.#listenerId, error),
    };
    const udpPort =
      this.#settings.io === 'batched' ? new UdpBatchedPort(options) : await UdpDgramPort.open(options);
    this.#ports.push(udpPort);
    this.#lines.set(port, counters);
  }

  peerUnreachable(port: number): boolean {
    const line = this.#lines.get(port);
    line?.peerUnreachable();
    return line !== undefined;
  }

  async stop(): Promise<void> {
    await Promise.all(this.#ports.map((udpPort) => udpPort.close()));
  }
}

export const udpListenerKind: ListenerKindModule = {
  entryPoints: ['message'],
  defineHelper: 'defineUdpHandler',
  async create(setup) {
    await (setup.handler as UdpHandler).setup?.(setup.context);
    return new UdpListener(setup);
  },
};
