import { Counter, Gauge, type Registry } from 'prom-client';
import type { EdgePressure } from './edge-load';
import type { ProbeStats } from './edge-probe';
import { REFUSAL_REASONS, type RefusalReason } from './refusals';

/**
 * What the SIP edge counts (`Edge.stats()`, logged in the node counters line) and its Prometheus
 * metrics, read from those counts at scrape time: nothing on the datagram path.
 */

/**
 * Why the edge dropped a datagram. Named apart from the workers' `DropReason`
 * (worker/calls/counters.ts), which counts messages a worker did not handle.
 *
 * - `no-call-id`: no Call-ID header the edge's scan could read (call-id.ts).
 * - `no-worker`: no live worker to hand it to.
 * - `worker-unavailable`: its worker was being stopped when it came.
 * - `edge-exception`: handling it, or a worker's message, threw on the main thread (edge-faults.ts).
 */
export type EdgeDropReason = 'no-call-id' | 'no-worker' | 'worker-unavailable' | 'edge-exception';
export const EDGE_DROP_REASONS: readonly EdgeDropReason[] = ['no-call-id', 'no-worker', 'worker-unavailable', 'edge-exception'];

export interface EdgeStats {
  readonly received: number;
  readonly dispatched: number;
  readonly dropped: Readonly<Record<EdgeDropReason, number>>;
  readonly sent: number;
  readonly sendErrors: number;
  readonly socketErrors: number;
  readonly pins: number;
  /** INVITEs the edge refused itself, by reason (refusals.ts). */
  readonly refused: Readonly<Record<RefusalReason, number>>;
  /** Of those, refused without a response (a flood, or a request no response can be built for). */
  readonly refusedUnanswered: number;
  /** Responses the edge built and sent itself (each once, no retransmission). */
  readonly statelessSent: number;
  /** ACKs for those responses, absorbed at the edge (RFC 3261 section 17.1.1.3). */
  readonly acksAbsorbed: number;
  /** How many source CIDRs the edge admits new INVITEs from; null until a worker posted them. */
  readonly carrierCidrCount: number | null;
  readonly pressure: EdgePressure;
  /** The edge's overload signal: its probes through its own socket and what they measured (edge-probe.ts). */
  readonly probe: ProbeStats;
  /** Workers that said they are overloaded (protocol.ts `OverloadMessage`). */
  readonly overloadedWorkers: number;
}

/**
 * Registers the edge's metrics in `registry`, each reading `stats()` when scraped; returns what
 * removes them again. Counters only go up: each scrape resets them and adds the running totals.
 */
export function registerEdgeMetrics(registry: Registry, stats: () => EdgeStats): () => void {
  const names: string[] = [];
  const counter = (name: string, help: string, read: (current: EdgeStats) => number): void => {
    names.push(name);
    new Counter({
      name, help, registers: [registry],
      collect(this: Counter) {
        this.reset();
        this.inc(read(stats()));
      },
    });
  };
  const labelledCounter = <Reason extends string>(name: string, help: string, reasons: readonly Reason[], read: (current: EdgeStats) => Readonly<Record<Reason, number>>): void => {
    names.push(name);
    new Counter({
      name, help, labelNames: ['reason'], registers: [registry],
      collect(this: Counter<'reason'>) {
        this.reset();
        const counts = read(stats());
        for (const reason of reasons) this.inc({ reason }, counts[reason]);
      },
    });
  };
  counter('sip_edge_datagrams_received_total', 'UDP datagrams received by the SIP edge', (s) => s.received);
  counter('sip_edge_datagrams_dispatched_total', 'Datagrams handed to a SIP worker', (s) => s.dispatched);
  counter('sip_edge_datagrams_sent_total', 'Datagrams sent for SIP workers', (s) => s.sent);
  counter('sip_edge_send_errors_total', 'Sends that failed (reported back to the worker)', (s) => s.sendErrors);
  counter('sip_edge_socket_errors_total', 'Errors on the SIP UDP socket', (s) => s.socketErrors);
  counter('sip_edge_stateless_responses_sent_total', 'Responses the edge sent itself, each once', (s) => s.statelessSent);
  counter('sip_edge_acks_absorbed_total', 'ACKs for the edge\'s own responses, absorbed there', (s) => s.acksAbsorbed);
  counter('sip_edge_invites_refused_unanswered_total', 'INVITEs refused at the edge without a response', (s) => s.refusedUnanswered);
  labelledCounter('sip_edge_invites_refused_total', 'INVITEs refused by the SIP edge itself, by reason', REFUSAL_REASONS, (s) => s.refused);
  labelledCounter('sip_edge_datagrams_dropped_total', 'Datagrams (for edge-exception, also workers\' messages) dropped by the SIP edge, by reason', EDGE_DROP_REASONS, (s) => s.dropped);
  counter('sip_edge_overloads_total', 'Times the edge\'s receive sojourn stayed above target for an interval (it then refuses new INVITEs)', (s) => s.probe.overloads);
  names.push('sip_edge_receive_sojourn_seconds');
  new Gauge({
    name: 'sip_edge_receive_sojourn_seconds', help: 'How long the edge\'s latest probe waited in its socket\'s receive queue and loop', registers: [registry],
    collect(this: Gauge) {
      this.set(stats().probe.lastSojournMs / 1000);
    },
  });
  names.push('sip_edge_call_id_pins');
  new Gauge({
    name: 'sip_edge_call_id_pins', help: 'Call-IDs pinned to a SIP worker', registers: [registry],
    collect(this: Gauge) {
      this.set(stats().pins);
    },
  });
  return () => {
    for (const name of names) registry.removeSingleMetric(name);
  };
}
