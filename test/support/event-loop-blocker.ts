import { writeSync } from 'node:fs';
import { Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { isMainThread } from 'node:worker_threads';

/**
 * Loaded into the product's process by tests only (`node --require`; worker threads inherit it):
 * whichever thread serves HTTP answers two more paths, to show what its event loop shares.
 *   /test/block-event-loop?ms=N  blocks that thread's event loop for N ms, then answers
 *   /test/crash-thread           throws an uncaught exception on that thread
 * Both write a line to stderr first naming the thread, so a test knows when it happened.
 */
export const BLOCK_PATH = '/test/block-event-loop';
export const CRASH_PATH = '/test/crash-thread';

const thread = isMainThread ? 'main thread' : 'a worker thread';
const emit = Server.prototype.emit;

Server.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
  if (event === 'request') {
    const [request, response] = args as [IncomingMessage, ServerResponse];
    const path = (request.url ?? '/').split('?')[0];
    if (path === BLOCK_PATH) {
      const ms = Number(new URL(request.url ?? '/', 'http://test').searchParams.get('ms'));
      writeSync(2, `event loop blocked on ${thread}\n`);
      // Sleeps the whole thread, as CPU-bound work would, without taking a core from the test.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      response.writeHead(200, { 'content-type': 'text/plain' }).end('unblocked\n');
      return true;
    }
    if (path === CRASH_PATH) {
      writeSync(2, `crashing ${thread}\n`);
      setImmediate(() => {
        throw new Error('deliberate crash of the thread serving HTTP');
      });
      return true;
    }
  }
  return emit.apply(this, [event, ...args] as Parameters<typeof emit>);
};
