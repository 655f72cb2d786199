/** The `sockshard` executable (bin/sockshard.js loads this, from dist/ or through tsx). */
import { runCli } from './program.js';

// `sockshard --help | head`: the reader went away; that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2));
