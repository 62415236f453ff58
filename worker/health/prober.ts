import type { Clock, Timer } from '../clock';
import { DEFAULT_MAX_FORWARDS } from '../calls/proxy';
import type { Endpoint, SipRequest, SipResponse } from '../sip/message';
import type { ClientBranch, ResponseOrigin, SipPort } from '../sip/port';
import { sameProbeTarget, type ProbeTarget } from './probe-target';

/**
 * OPTIONS probing in a SIP worker (RFC 3261 section 11): each binding the main thread gave this
 * worker (probe-coordinator.ts) gets an OPTIONS every `intervalMs`, to its Contact URI, sent to
 * the address the REGISTER came from (as calls are). Timers, by name:
 * - `next`: the next probe, `intervalMs` after the previous one was sent (the first after a random
 *   part of the interval, so bindings given at once are not probed at once).
 * - `timeout`: no final response within `timeoutMs` (min(5 s, interval)): the probe failed, its
 *   retransmissions stop.
 * Any final response is alive, whatever its status: a PBX that answers 404 or 405 to OPTIONS is
 * there (section 11.2). No final response in time, a failed send, or a response our own stack made
 * (the send could not be done) is a failure. Each probe's result is reported exactly once; a
 * binding taken away mid-probe reports nothing.
 */

export interface ProbeResult {
  readonly trunkId: string;
  readonly registrationId: string;
  readonly ok: boolean;
  /** Epoch milliseconds when the probe was sent. */
  readonly at: number;
  /** Round trip to the final response; null when there was none. */
  readonly rttMs: number | null;
}

export interface ProberDeps {
  readonly port: Pick<SipPort, 'send' | 'onSendError' | 'publicAddress' | 'publicPort'>;
  readonly clock: Clock;
  /** In [0, 1): where in its first interval a new binding is first probed. */
  readonly random: () => number;
  readonly newCallId: () => string;
  readonly newTag: () => string;
  readonly onResult: (result: ProbeResult) => void;
  /** The binding's Call-ID is over: the edge may forget which worker it belongs to. */
  readonly unpin: (callId: string) => void;
}

interface InFlight {
  readonly sentAt: number;
  readonly timeout: Timer;
  branch: ClientBranch | null;
}

interface Probing {
  target: ProbeTarget;
  /** One Call-ID per binding for as long as this worker probes it, with CSeq counting up (section 8.1.1.4-5). */
  readonly callId: string;
  readonly fromTag: string;
  seq: number;
  next: Timer | null;
  inFlight: InFlight | null;
}

export class Prober {
  private readonly probing = new Map<string, Probing>();
  private readonly stopListening: () => void;
  private readonly from: string;

  constructor(private readonly deps: ProberDeps) {
    const { publicAddress, publicPort } = deps.port;
    this.from = `sip:${publicAddress.includes(':') ? `[${publicAddress}]` : publicAddress}:${publicPort}`;
    this.stopListening = deps.port.onSendError((destination) => this.onSendError(destination));
  }

  /** The bindings this worker probes from now on; those it keeps go on in their rhythm. */
  update(targets: readonly ProbeTarget[]): void {
    const wanted = new Map(targets.map((target) => [target.registrationId, target]));
    for (const [registrationId, probing] of this.probing) {
      if (!wanted.has(registrationId)) this.remove(probing);
    }
    for (const target of wanted.values()) {
      const probing = this.probing.get(target.registrationId);
      if (probing === undefined) this.add(target);
      else if (!sameProbeTarget(probing.target, target)) probing.target = target;
    }
  }

  stop(): void {
    for (const probing of this.probing.values()) this.remove(probing);
    this.stopListening();
  }

  private add(target: ProbeTarget): void {
    const probing: Probing = { target, callId: this.deps.newCallId(), fromTag: this.deps.newTag(), seq: 0, next: null, inFlight: null };
    this.probing.set(target.registrationId, probing);
    probing.next = this.deps.clock.after(Math.floor(this.deps.random() * target.intervalMs), () => this.probe(probing));
  }

  private remove(probing: Probing): void {
    this.probing.delete(probing.target.registrationId);
    probing.next?.cancel();
    probing.next = null;
    const inFlight = probing.inFlight;
    if (inFlight !== null) {
      probing.inFlight = null;
      inFlight.timeout.cancel();
      inFlight.branch?.abandon();
    }
    this.deps.unpin(probing.callId);
  }

  private probe(probing: Probing): void {
    const { target } = probing;
    // The timeout is never longer than the interval; should both fire together, the old probe ends first.
    if (probing.inFlight !== null) this.settle(probing, probing.inFlight, null);
    probing.next = this.deps.clock.after(target.intervalMs, () => this.probe(probing));
    const seq = ++probing.seq;
    const inFlight: InFlight = { sentAt: this.deps.clock.now(), timeout: this.deps.clock.after(target.timeoutMs, () => this.settle(probing, inFlight, null)), branch: null };
    probing.inFlight = inFlight;
    const destination: Endpoint = { address: target.address, port: target.port };
    try {
      inFlight.branch = this.deps.port.send(this.request(probing, seq), destination, (response, origin) => this.onResponse(probing, inFlight, response, origin));
    } catch {
      // A Contact the stack cannot send to (it threw rather than answering 503 itself): not reached.
      this.settle(probing, inFlight, null);
    }
  }

  private request(probing: Probing, seq: number): SipRequest {
    const { contact } = probing.target;
    return {
      method: 'OPTIONS',
      uri: contact,
      headers: {
        via: [],
        to: { uri: contact, params: {} },
        from: { uri: this.from, params: { tag: probing.fromTag } },
        'call-id': probing.callId,
        cseq: { seq, method: 'OPTIONS' },
        'max-forwards': DEFAULT_MAX_FORWARDS,
        accept: 'application/sdp',
        'content-length': 0,
      },
    };
  }

  private onResponse(probing: Probing, inFlight: InFlight, response: SipResponse, origin: ResponseOrigin): void {
    if (probing.inFlight !== inFlight) return;
    // Our own stack's answer (a 503 when the send failed, a 408 at Timer F) speaks for no PBX.
    if (origin === 'local') {
      this.settle(probing, inFlight, null);
      return;
    }
    const status = response.status;
    if (!(Number.isInteger(status) && status >= 200)) return;
    this.settle(probing, inFlight, this.deps.clock.now() - inFlight.sentAt);
  }

  private onSendError(destination: Endpoint): void {
    for (const probing of [...this.probing.values()]) {
      const inFlight = probing.inFlight;
      if (inFlight !== null && probing.target.address === destination.address && probing.target.port === destination.port) this.settle(probing, inFlight, null);
    }
  }

  /** Ends the probe in flight: answered after `rttMs`, or failed (null). Reports once. */
  private settle(probing: Probing, inFlight: InFlight, rttMs: number | null): void {
    if (probing.inFlight !== inFlight) return;
    probing.inFlight = null;
    inFlight.timeout.cancel();
    if (rttMs === null) inFlight.branch?.abandon();
    const { trunkId, registrationId } = probing.target;
    this.deps.onResult({ trunkId, registrationId, ok: rttMs !== null, at: inFlight.sentAt, rttMs: rttMs === null ? null : Math.max(0, Math.round(rttMs)) });
  }
}
