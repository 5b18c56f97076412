import net from 'node:net';

/** A loopback port nothing listens on right now (the OS picks it). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(),
      );
    });
  });
}

/** Whether nothing listens on `port` on loopback (so this process, or a child, may take it). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** The first of `candidates` nothing listens on, or a free one the OS picks if none is. */
export async function firstFreePort(candidates: readonly number[]): Promise<number> {
  for (const port of candidates) if (await isPortFree(port)) return port;
  return findFreePort();
}
