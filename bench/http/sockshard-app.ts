/** The benchmark app as a sockshard handler module: every shard imports it and serves the same app. */
import { defineHttpHandler } from '../../src/handler.js';
import { appFromEnv } from './app.js';

export default defineHttpHandler(appFromEnv());
