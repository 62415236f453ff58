import type { Clock, Timer } from '../../worker/clock';
import type { WebhookClient } from '../../net/webhook-client';
import type { Endpoint, SipRequest, SipResponse } from '../../worker/sip/message';
import type { ClientBranch, ResponseExtension, ResponseOrigin, SipPort } from '../../worker/sip/port';

/** A clock whose time moves only when the test says so. */
export class FakeClock implements Clock {
  private time = 0;
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.time;
  }

  /** A timer cancelled or fired is let go, as a real one is: tests of what stays reachable rely on it. */
  after(ms: number, fn: () => void): Timer {
    const timer = { at: this.time + ms, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => this.drop(timer) };
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = this.timers.filter((timer) => !timer.cancelled && timer.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.time = due.at;
      this.drop(due);
      due.fn();
    }
    this.time = until;
  }

  private drop(timer: { cancelled: boolean }): void {
    timer.cancelled = true;
    this.timers = this.timers.filter((other) => other !== timer);
  }

  pending(): number {
    return this.timers.filter((timer) => !timer.cancelled).length;
  }
}

export interface SentRequest {
  request: SipRequest;
  destination: Endpoint | null;
  /** Answers the request as the target would (`wire`), or as our own stack would (`local`: a timeout, a failed send). */
  respond: (response: SipResponse, origin?: ResponseOrigin) => void;
  cancelled: number;
  abandoned: number;
}

/** A SipPort that records what the call layer does and lets the test answer. */
export class FakePort implements SipPort {
  readonly publicAddress: string = '192.0.2.1';
  readonly publicPort = 5060;
  readonly replies: { request: SipRequest; status: number; extension?: ResponseExtension }[] = [];
  readonly responded: SipResponse[] = [];
  readonly sent: SentRequest[] = [];
  readonly acks: { request: SipRequest; destination: Endpoint | null }[] = [];
  readonly sendErrorListeners = new Set<(destination: Endpoint, code: string) => void>();
  throwOnSend: Error | null = null;
  /** Thrown (once) by the next `respond`: a fault while relaying a response. */
  throwOnRespond: Error | null = null;

  reply(request: SipRequest, status: number, _reason?: string, extension?: ResponseExtension): void {
    this.replies.push({ request, status, extension });
  }

  respond(response: SipResponse): void {
    const fault = this.throwOnRespond;
    this.throwOnRespond = null;
    if (fault !== null) throw fault;
    this.responded.push(response);
  }

  send(request: SipRequest, destination: Endpoint | null, onResponse: (response: SipResponse, origin: ResponseOrigin) => void): ClientBranch {
    if (this.throwOnSend !== null) throw this.throwOnSend;
    const entry: SentRequest = { request, destination, respond: (response, origin = 'wire') => onResponse(response, origin), cancelled: 0, abandoned: 0 };
    this.sent.push(entry);
    return { cancel: () => void entry.cancelled++, abandon: () => void entry.abandoned++ };
  }

  sendAck(request: SipRequest, destination: Endpoint | null): void {
    this.acks.push({ request, destination });
  }

  onSendError(listener: (destination: Endpoint, code: string) => void): () => void {
    this.sendErrorListeners.add(listener);
    return () => this.sendErrorListeners.delete(listener);
  }

  failSend(destination: Endpoint, code: string): void {
    for (const listener of [...this.sendErrorListeners]) listener(destination, code);
  }

  isOwnUri(uri: unknown): boolean {
    return typeof uri === 'string' && uri.includes('192.0.2.1:5060');
  }
}

/** A response to `request` with a status, as a target would send it (our Via still on top). */
export function responseTo(request: SipRequest, status: number, extra: Partial<SipResponse['headers']> = {}): SipResponse {
  return {
    status,
    reason: '',
    headers: { ...request.headers, to: { ...request.headers.to, params: { ...request.headers.to.params, tag: status > 100 ? 'callee' : undefined } }, ...extra },
  };
}

/** A webhook client for tests whose calls send no webhook: a request would never be answered. */
export const SILENT_WEBHOOK_CLIENT: WebhookClient = { send: () => new Promise(() => undefined) };
