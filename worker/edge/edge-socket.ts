import type dgram from 'node:dgram';
import type { Logger } from 'pino';

/** Binds the edge's socket; rejects with a clear error (and its `code`) when the port is taken. */
export function bind(socket: dgram.Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      socket.close();
      const why = err.code === 'EADDRINUSE' ? 'the port is already in use by another socket' : err.message;
      reject(Object.assign(new Error(`cannot bind SIP UDP socket on ${host}:${port}: ${why}`, { cause: err }), { code: err.code }));
    };
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

/** Sizes a bound socket's kernel buffer, and warns when the kernel grants less than asked. */
export function setBufferSize(socket: dgram.Socket, which: 'receive' | 'send', bytes: number, logger: Logger): void {
  try {
    if (which === 'receive') socket.setRecvBufferSize(bytes);
    else socket.setSendBufferSize(bytes);
    const actual = which === 'receive' ? socket.getRecvBufferSize() : socket.getSendBufferSize();
    // Linux reports twice what it granted, and silently caps the request at net.core.[rw]mem_max.
    if (actual < bytes) logger.warn({ which, requested: bytes, actual }, 'UDP socket buffer smaller than asked: raise net.core.rmem_max / wmem_max');
  } catch (err) {
    logger.warn({ err, which, requested: bytes }, 'could not size the UDP socket buffer');
  }
}
