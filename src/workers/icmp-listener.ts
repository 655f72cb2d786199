import type { IcmpHandler } from '../handler.js';
import type { ListenerKindModule, PacketListener } from './served-listener.js';

/**
 * `engine.icmp({ handler })`: the packets the coordinator routes to this shard reach the handler through
 * the shard's ICMP rings (shard-icmp.ts), which the shard itself starts and closes.
 */
export const icmpListenerKind: ListenerKindModule = {
  entryPoints: ['echoReply', 'echoRequest', 'unreachable', 'timeExceeded', 'other', 'setup', 'shardMessage'],
  defineHelper: 'defineIcmpHandler',
  async create({ handler, context, shard }) {
    const icmp = handler as IcmpHandler;
    await icmp.setup?.(context);
    shard.icmp?.setHandler(icmp, context);
    const listener: PacketListener = { transport: 'packet' };
    return listener;
  },
};
