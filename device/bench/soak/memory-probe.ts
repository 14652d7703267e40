/**
 * Preloaded into the soaked daemon (`node --import`): answers the soak tool's IPC "memory" request
 * with the daemon's own process.memoryUsage(), so heap is read from inside without changing the
 * daemon. The channel is unref'd: it never keeps the daemon alive.
 */
if (process.send) {
  process.channel?.unref();
  process.on('message', (msg: unknown) => {
    if (msg !== 'memory') return;
    const m = process.memoryUsage();
    process.send?.({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers });
  });
}
