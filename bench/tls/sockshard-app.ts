/** The bench:tls app as a sockshard HTTPS handler module; each shard names its thread. */
import { defineHttpHandler } from '../../src/handler.js';
import { registerThread } from '../lib/cpu.js';
import { helloApp } from './app.js';

export default defineHttpHandler({
  request: helloApp,
  setup(context) {
    registerThread(`shard${context.shardId}`);
  },
});
