import { defineUdpHandler } from '../../src/index.js';

/** The soak's UDP app: echo. */
export default defineUdpHandler({
  message(data, peer, context) {
    context.reply(peer, data);
  },
});
