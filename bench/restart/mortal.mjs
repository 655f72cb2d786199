// A TCP handler for bench/restart.ts, plain JavaScript so that the built engine (dist/) can load it:
// "whoami" answers the shard id, "exit" ends the shard's thread.
export default {
  connection(socket, context) {
    socket.on('data', (data) => {
      const command = data.toString().trim();
      if (command === 'exit') process.exit(3);
      socket.write(`${context.shardId}\n`);
    });
  },
};
