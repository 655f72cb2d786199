import { defineUdpHandler } from '../../src/index.js';

/** The echo every contender runs: the datagram goes back to its sender unchanged. */
export default defineUdpHandler({
  message(data, peer, context) {
    context.reply(peer, data);
  },
});
