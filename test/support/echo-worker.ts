import { parentPort, threadId, workerData } from 'node:worker_threads';
import { scanCallId } from '../../worker/edge/call-id';
import { DatagramPort } from '../../worker/edge/datagram-port';
import type { EdgeToWorker, SendsMessage, WorkerToEdge } from '../../worker/edge/protocol';

/**
 * A stand-in SIP worker for the supervisor and edge tests, speaking the real protocol through a
 * real DatagramPort. Each datagram is a call (keyed by Call-ID) until a datagram starting with
 * `BYE` ends it; every datagram is answered to its sender with `X-Worker: <index>` and its CSeq.
 */

export interface EchoWorkerData {
  readonly index: number;
  /** fail-start: throws before `ready`; ignore-stop: stays up after `stop` (to be terminated). */
  readonly mode?: 'normal' | 'fail-start' | 'ignore-stop';
}

/** `control` payloads the tests send. */
export type EchoCommand =
  | { readonly cmd: 'throw' }
  | { readonly cmd: 'exit'; readonly code: number }
  | { readonly cmd: 'calls'; readonly liveCalls: number }
  | { readonly cmd: 'send'; readonly text: string; readonly address: string; readonly port: number }
  /** Sends each text in order, all in one turn. */
  | { readonly cmd: 'burst'; readonly texts: readonly string[]; readonly address: string; readonly port: number }
  | { readonly cmd: 'ping' };

/** `event` payloads it posts. */
export type EchoEvent =
  | { readonly kind: 'send-error'; readonly index: number; readonly address: string; readonly port: number; readonly code: string }
  | { readonly kind: 'pong'; readonly index: number; readonly threadId: number }
  | { readonly kind: 'drain'; readonly index: number };

const data = workerData as EchoWorkerData;
if (data.mode === 'fail-start') throw new Error('echo worker told to fail at start');
const port = parentPort;
if (!port) throw new Error('echo-worker must run in a worker thread');

const calls = new Set<string>();
let extraCalls = 0;
const socket = new DatagramPort(port);

/** As worker-main does: behind the sends queued before it. */
function post(message: Exclude<WorkerToEdge, SendsMessage>): void {
  socket.post(message);
}

function postHealth(): void {
  post({ type: 'health', liveCalls: calls.size + extraCalls });
}

function postEvent(payload: EchoEvent): void {
  post({ type: 'event', payload });
}

socket.on('message', (buf, rinfo) => {
  const callId = scanCallId(buf);
  if (callId === null) return;
  const cseq = /\r\nCSeq: ([^\r]*)\r\n/.exec(buf.toString('latin1'))?.[1];
  const reply = Buffer.from(`SIP/2.0 200 OK\r\nX-Worker: ${data.index}\r\nCall-ID: ${callId}\r\n${cseq === undefined ? '' : `CSeq: ${cseq}\r\n`}\r\n`, 'latin1');
  socket.send(reply, 0, reply.length, rinfo.port, rinfo.address);
  // Release after the last send, which refreshes the pin it answers on.
  if (buf.subarray(0, 3).toString('latin1') === 'BYE') {
    calls.delete(callId);
    post({ type: 'unpin', callIds: [callId] });
  } else {
    calls.add(callId);
  }
  postHealth();
});

socket.on('send-error', (error) => postEvent({ kind: 'send-error', index: data.index, ...error }));

port.on('message', (message: EdgeToWorker) => {
  switch (message.type) {
    case 'drain':
      postEvent({ kind: 'drain', index: data.index });
      postHealth();
      return;
    case 'stop':
      if (data.mode === 'ignore-stop') return;
      socket.close();
      port.close();
      return;
    case 'control':
      return control(message.payload as EchoCommand);
    default:
      return;
  }
});

function control(command: EchoCommand): void {
  switch (command.cmd) {
    case 'throw':
      // Outside the message handler's stack, as a real bug in a timer callback would be.
      setImmediate(() => {
        throw new Error('echo worker told to throw');
      });
      return;
    case 'exit':
      process.exit(command.code);
      return;
    case 'calls':
      extraCalls = command.liveCalls;
      postHealth();
      return;
    case 'send': {
      const bytes = Buffer.from(command.text, 'latin1');
      socket.send(bytes, 0, bytes.length, command.port, command.address);
      return;
    }
    case 'burst':
      for (const text of command.texts) {
        const bytes = Buffer.from(text, 'latin1');
        socket.send(bytes, 0, bytes.length, command.port, command.address);
      }
      return;
    case 'ping':
      postEvent({ kind: 'pong', index: data.index, threadId });
      return;
  }
}

post({ type: 'ready' });
