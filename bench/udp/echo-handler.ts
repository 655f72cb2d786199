import { defineUdpHandler } from '../../src/index.js';
import { registerThread } from '../lib/cpu.js';

/** The echo every contender runs: the datagram goes back to its sender unchanged. */
export default defineUdpHandler({
  message(data, peer, context) {
    context.reply(peer, data);
  },
  setup(context) {
    registerThread(`shard${context.shardId}`);
  },
});
