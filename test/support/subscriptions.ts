import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

/** The subscription URL of an API server whose HTTP URL is `httpUrl`. */
export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

/** A graphql-ws client on `ws`, which does not reconnect (tests see every close). */
export function subscriptionClient(httpUrl: string, key: string | null, onClosed?: (closed: Closed) => void): Client {
  return createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: WebSocket,
    connectionParams: key === null ? {} : { authorization: `Bearer ${key}` },
    retryAttempts: 0,
    lazy: true,
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        onClosed?.({ code, reason });
      },
    },
  });
}

/** One subscription's results as a queue a test awaits, one at a time. */
export class ResultStream<T> {
  private readonly results: FormattedExecutionResult<T, unknown>[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;
  private failure: unknown = null;
  readonly stop: () => void;

  constructor(client: Client, query: string, variables: Record<string, unknown>) {
    const wake = (): void => {
      this.waiter?.();
      this.waiter = null;
    };
    this.stop = client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          this.results.push(result);
          wake();
        },
        error: (error) => {
          // A refused operation is an `error` message: its GraphQL errors, read like a result's.
          if (Array.isArray(error)) this.results.push({ errors: error as FormattedExecutionResult<T, unknown>['errors'] });
          else this.failure = error;
          this.ended = true;
          wake();
        },
        complete: () => {
          this.ended = true;
          wake();
        },
      },
    );
  }

  /** The next result, within `timeoutMs`; throws when the subscription ended or nothing came. */
  async next(timeoutMs = 2_000): Promise<FormattedExecutionResult<T, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = this.results.shift();
      if (result !== undefined) return result;
      if (this.ended) throw new Error(`subscription ended: ${JSON.stringify(this.failure)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no result within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The next result's data, failing on errors. */
  async data(timeoutMs?: number): Promise<T> {
    const result = await this.next(timeoutMs);
    if (result.errors !== undefined || result.data == null) throw new Error(`expected data, got ${JSON.stringify(result)}`);
    return result.data;
  }

  /** Resolves when the server completed or failed the subscription. */
  async end(timeoutMs = 2_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error(`subscription still open after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}

/** A bare WebSocket speaking graphql-transport-ws by hand, for what a well-behaved client never sends. */
export class RawSocket {
  private readonly messages: unknown[] = [];
  private waiter: (() => void) | null = null;
  readonly closed: Promise<Closed>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      this.messages.push(JSON.parse(data.toString('utf8')));
      this.waiter?.();
      this.waiter = null;
    });
    this.closed = new Promise((resolve) => socket.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString('utf8') })));
    void this.closed.then(() => {
      this.waiter?.();
      this.waiter = null;
    });
  }

  static open(httpUrl: string): Promise<RawSocket> {
    const socket = new WebSocket(wsUrl(httpUrl), 'graphql-transport-ws');
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new RawSocket(socket)));
      socket.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Sends `connection_init` with `key` and returns the server's answer: `connection_ack`, or the close. */
  async init(key: string | null): Promise<'ack' | Closed> {
    this.send({ type: 'connection_init', payload: key === null ? {} : { authorization: `Bearer ${key}` } });
    const first = await Promise.race([this.message(), this.closed]);
    return typeof first === 'object' && first !== null && (first as { type?: string }).type === 'connection_ack' ? 'ack' : (first as Closed);
  }

  /** The next message from the server; never resolves after a close (race it with `closed`). */
  async message(): Promise<unknown> {
    for (;;) {
      const message = this.messages.shift();
      if (message !== undefined) return message;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  close(): void {
    this.socket.close();
  }
}

/** Waits for `condition` to hold, checking every 10 ms; for state a test cannot be told of. */
export async function until(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
