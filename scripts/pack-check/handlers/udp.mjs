// A UDP handler module: answers each datagram with its bytes in upper case.
import { defineUdpHandler } from 'sockshard';

export default defineUdpHandler({
  message(data, peer, context) {
    context.reply(peer, Buffer.from(Buffer.from(data).toString('utf8').toUpperCase()));
  },
});
