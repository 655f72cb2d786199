/**
 * The udp-dns handler module, run in every shard: each datagram is one DNS query, answered from the port it
 * arrived on. `data` may be a view into shared memory that is reused after this call, so the reply is
 * built (copied) before returning. A query from source port 0 cannot be answered (RFC 768: the sender
 * expects no reply); `context.reply` drops such a reply and counts it in the port's `sendErrors`, so it
 * needs no case here.
 */
import { defineUdpHandler } from '../../src/index.js'; // in your project: from 'sockshard'
import { answerQuery } from './dns-message.js';

export default defineUdpHandler({
  message(data, peer, context) {
    const reply = answerQuery(data);
    if (reply !== null) context.reply(peer, reply);
  },
});
