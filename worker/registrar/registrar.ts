import type { HealthEvidence } from '../../domain/trunk-health';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import { DigestAlgorithm } from '../../domain/digest';
import type { Clock } from '../clock';
import type { Snapshot, TrunkConfig } from '../config/snapshot';
import type { Endpoint, NameAddr, SipRequest } from '../sip/message';
import { headerText } from '../sip/message';
import type { SipPort } from '../sip/port';
import { requestUser } from '../calls/proxy';
import { challengeHeader, nonceOf, parseCredentials, verifyResponse, type DigestCredentials } from './digest-auth';
import type { NonceService } from './nonce';
import type { WorkerCounters } from '../calls/counters';
import { isDatabaseUnreachable, isWorthRetrying } from '../../app/database-errors';
import { hasControlCharacter } from '../../domain/control-characters';
import { recordText } from '../calls/record-text';
import type { FailureThrottle } from './throttle';

/** Expiry limits (RFC 3261 section 10.3 step 7): shorter asks get 423 with Min-Expires. */
export const MIN_EXPIRES_S = 60;
export const MAX_EXPIRES_S = 3600;
export const DEFAULT_EXPIRES_S = 3600;
/** Bindings kept per trunk; a PBX that changes its Contact on every refresh must not pile them up. */
export const MAX_BINDINGS_PER_TRUNK = 10;
/** What a PBX is told to wait when its registration could not be stored (RFC 3261 section 21.5.4). */
export const RETRY_AFTER_S = 5;

export interface RegistrarDeps {
  readonly port: SipPort;
  readonly pool: Pool;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly realm: string;
  readonly nonces: NonceService;
  readonly throttle: FailureThrottle;
  readonly counters: Pick<WorkerCounters, 'foreignNonce'>;
  readonly snapshot: () => Snapshot;
  /**
   * The trunk gained its first binding or lost its last: `Registration` evidence for its health
   * (applied by the SIP node's main thread; a repeat is ignored there). Default: dropped.
   */
  readonly evidence?: (trunkId: string, evidence: HealthEvidence) => void;
}

type Verdict =
  | { readonly kind: 'challenge'; readonly trunk: TrunkConfig | null; readonly stale: boolean; readonly failure: string | null }
  /** Credentials whose nonce we did not issue to this source address: nothing in them can be blamed on it. */
  | { readonly kind: 'foreign-nonce'; readonly trunk: TrunkConfig | null; readonly nonce: 'missing' | 'not ours' }
  | { readonly kind: 'forbidden'; readonly why: string }
  | { readonly kind: 'authenticated'; readonly trunk: TrunkConfig };

interface ContactChange {
  readonly contact: string;
  readonly expiresS: number;
}

/**
 * The registrar (RFC 3261 section 10.3) for trunk PBXs: Digest authentication against the
 * trunk's stored HA1 hashes (MD5 and SHA-256, RFC 8760), challenges in the trunk's algorithm
 * order, bindings written through to PostgreSQL so every worker and SIP node routes to them.
 * The binding keeps the address the REGISTER came from: calls are sent there, not to a private
 * Contact behind NAT.
 */
export class Registrar {
  constructor(private readonly deps: RegistrarDeps) {}

  async handle(request: SipRequest, remote: Endpoint): Promise<void> {
    const { port, clock } = this.deps;
    const now = clock.now();
    if (this.deps.throttle.isBlocked(remote.address, now)) {
      port.reply(request, 403, 'Forbidden');
      return;
    }
    const verdict = this.authenticate(request, remote.address);
    switch (verdict.kind) {
      case 'challenge':
        if (verdict.failure !== null) this.fail(request, remote, verdict.failure, now);
        else this.challenge(request, remote, verdict.trunk, verdict.stale);
        return;
      case 'foreign-nonce':
        // Answered like a REGISTER without credentials (RFC 3261 section 22.4: a fresh 401). Anyone can
        // send these "from" any address: a counter and debug, never a line per datagram at warn.
        this.deps.counters.foreignNonce();
        this.deps.logger.debug({ source: `${remote.address}:${remote.port}`, toUser: requestUser(request.headers.to.uri), nonce: verdict.nonce }, 'REGISTER challenged again: nonce not issued to its source');
        this.challenge(request, remote, verdict.trunk, false);
        return;
      case 'forbidden':
        this.fail(request, remote, verdict.why, now, true);
        return;
      case 'authenticated':
        this.deps.throttle.succeed(remote.address);
        await this.register(request, remote, verdict.trunk);
        return;
      default: {
        const unknown: never = verdict;
        throw new Error(`unknown verdict ${JSON.stringify(unknown)}`);
      }
    }
  }

  /**
   * Checks the nonce first: one HMAC, and no digest hash is computed, nor anything the sender wrote
   * trusted, until the nonce is known to be one we issued to this source address (valid or stale).
   * Only then does the source's throttle count a failure: the sender has shown it receives our
   * responses at that address, so it cannot be an attacker spoofing someone else's address blind.
   */
  private authenticate(request: SipRequest, source: string): Verdict {
    const snapshot = this.deps.snapshot();
    const toUser = requestUser(request.headers.to.uri);
    const toTrunk = toUser === null ? null : (snapshot.trunksByUsername.get(toUser.toLowerCase()) ?? null);
    const headers = request.headers.authorization;
    const header = Array.isArray(headers) ? (headers.find((entry: Record<string, unknown>) => typeof entry.realm === 'string' && entry.realm.includes(this.deps.realm)) ?? headers[0]) : undefined;
    if (header === undefined) return { kind: 'challenge', trunk: toTrunk, stale: false, failure: null };
    const text = nonceOf(header as Record<string, unknown>);
    if (text === null) return { kind: 'foreign-nonce', trunk: toTrunk, nonce: 'missing' };
    const nonce = this.deps.nonces.check(text, source);
    if (nonce === 'invalid') return { kind: 'foreign-nonce', trunk: toTrunk, nonce: 'not ours' };
    const credentials = parseCredentials(header as Record<string, unknown>);
    if (credentials === null) return { kind: 'challenge', trunk: null, stale: false, failure: 'malformed or unsupported credentials' };
    const trunk = snapshot.trunksByUsername.get(credentials.username.toLowerCase()) ?? null;
    if (trunk === null) return { kind: 'challenge', trunk: null, stale: false, failure: 'unknown username' };
    if (toUser === null || toUser.toLowerCase() !== trunk.sipUsername.toLowerCase()) {
      return { kind: 'forbidden', why: 'To user is not the authenticated username' };
    }
    return this.check(request, trunk, credentials, nonce);
  }

  /** The rest of the checks, for credentials carrying a nonce we issued to their source. */
  private check(request: SipRequest, trunk: TrunkConfig, credentials: DigestCredentials, nonce: 'valid' | 'stale'): Verdict {
    if (credentials.realm !== this.deps.realm) return { kind: 'challenge', trunk, stale: false, failure: 'wrong realm' };
    if (trunk.digestRealm !== this.deps.realm) {
      this.deps.logger.error({ trunkId: trunk.id, hashRealm: trunk.digestRealm, realm: this.deps.realm }, 'trunk password hashes are for another realm: set the password again');
      return { kind: 'challenge', trunk, stale: false, failure: 'hashes for another realm' };
    }
    if (!trunk.digestAlgorithms.includes(credentials.algorithm)) return { kind: 'challenge', trunk, stale: false, failure: 'algorithm not offered' };
    if (!verifyResponse(trunk.ha1[credentials.algorithm], request.method, credentials)) {
      return { kind: 'challenge', trunk, stale: false, failure: 'wrong password' };
    }
    // Right password on an expired nonce: ask again with a fresh one, no failure counted (RFC 7616 section 3.3).
    if (nonce === 'stale') return { kind: 'challenge', trunk, stale: true, failure: null };
    return { kind: 'authenticated', trunk };
  }

  private challenge(request: SipRequest, remote: Endpoint, trunk: TrunkConfig | null, stale: boolean): void {
    const nonce = this.deps.nonces.issue(remote.address);
    const algorithms = trunk?.digestAlgorithms ?? [DigestAlgorithm.MD5, DigestAlgorithm.SHA256];
    this.deps.port.reply(request, 401, 'Unauthorized', {
      headers: { 'www-authenticate': algorithms.map((algorithm) => challengeHeader(this.deps.realm, nonce, algorithm, stale)) },
    });
  }

  private fail(request: SipRequest, remote: Endpoint, why: string, now: number, forbidden = false): void {
    const verdict = this.deps.throttle.fail(remote.address, now);
    // `untracked`: the throttle had no room for this source; refusing is the safe answer.
    const blocked = verdict !== 'counted';
    this.deps.logger.warn({ source: `${remote.address}:${remote.port}`, toUser: requestUser(request.headers.to.uri), why, blocked, throttle: verdict }, 'REGISTER refused');
    if (forbidden || blocked) {
      this.deps.port.reply(request, 403, 'Forbidden');
      return;
    }
    const trunk = this.deps.snapshot().trunksByUsername.get((requestUser(request.headers.to.uri) ?? '').toLowerCase()) ?? null;
    this.challenge(request, remote, trunk, false);
  }

  /** Applies the Contact changes in one transaction and answers with the bindings now in force. */
  private async register(request: SipRequest, remote: Endpoint, trunk: TrunkConfig): Promise<void> {
    const { port } = this.deps;
    const parsed = this.contactChanges(request);
    if (parsed.kind === 'bad') {
      port.reply(request, 400, parsed.reason);
      return;
    }
    if (parsed.kind === 'too-brief') {
      port.reply(request, 423, 'Interval Too Brief', { headers: { 'min-expires': String(MIN_EXPIRES_S) } });
      return;
    }
    const agent = headerText(request.headers, 'user-agent');
    const userAgent = agent === undefined ? null : recordText(agent);
    let bindings: { contact: string; expires_in: number }[];
    let healthSaysRegistered: boolean | null = null;
    let client: PoolClient | null = null;
    let broken = false;
    try {
      client = await this.deps.pool.connect();
      await client.query('BEGIN');
      if (parsed.kind === 'remove-all') {
        await client.query('DELETE FROM registration WHERE trunk_id = $1', [trunk.id]);
      }
      for (const change of parsed.kind === 'changes' ? parsed.changes : []) {
        if (change.expiresS === 0) {
          await client.query('DELETE FROM registration WHERE trunk_id = $1 AND contact = $2', [trunk.id, change.contact]);
          continue;
        }
        await client.query(
          `INSERT INTO registration (trunk_id, contact, source_address, source_port, expires_at, user_agent)
           VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6)
           ON CONFLICT (trunk_id, contact) DO UPDATE SET source_address = EXCLUDED.source_address,
             source_port = EXCLUDED.source_port, expires_at = EXCLUDED.expires_at, user_agent = EXCLUDED.user_agent,
             updated_at = clock_timestamp()`,
          [trunk.id, change.contact, remote.address, remote.port, change.expiresS, userAgent],
        );
      }
      await client.query(
        `DELETE FROM registration WHERE trunk_id = $1 AND (expires_at <= now() OR id NOT IN (
           SELECT id FROM registration WHERE trunk_id = $1 ORDER BY updated_at DESC LIMIT $2))`,
        [trunk.id, MAX_BINDINGS_PER_TRUNK],
      );
      ({ rows: bindings } = await client.query(
        `SELECT contact, greatest(0, ceil(extract(epoch FROM expires_at - now())))::int AS expires_in
         FROM registration WHERE trunk_id = $1 ORDER BY updated_at DESC`,
        [trunk.id],
      ));
      const { rows: health } = await client.query<{ registered: boolean }>('SELECT registered FROM trunk_health WHERE trunk_id = $1', [trunk.id]);
      healthSaysRegistered = health[0]?.registered ?? null;
      await client.query('COMMIT');
    } catch (error) {
      await client?.query('ROLLBACK').catch(() => undefined);
      // Unreachable, short of resources, or a collision with another transaction: the PBX keeps its
      // old binding and retries soon. Only a lost connection is closed rather than reused.
      broken = isDatabaseUnreachable(error);
      if (isWorthRetrying(error)) {
        this.deps.logger.error({ err: error, trunkId: trunk.id, retryAfterS: RETRY_AFTER_S }, 'registration not stored: database unavailable');
        port.reply(request, 503, 'Service Unavailable', { headers: { 'retry-after': String(RETRY_AFTER_S) } });
        return;
      }
      // A refused row or a fault of ours: retrying after a pause would not help.
      this.deps.logger.error({ err: error, trunkId: trunk.id }, 'registration refused by the database');
      port.reply(request, 500, 'Server Internal Error');
      return;
    } finally {
      // A connection that failed is closed, not handed to the next REGISTER.
      client?.release(broken);
    }
    const registered = bindings.length > 0;
    if (healthSaysRegistered !== null && healthSaysRegistered !== registered) this.deps.evidence?.(trunk.id, { kind: 'Registration', registered });
    const contacts: NameAddr[] = bindings.map((binding) => ({ uri: binding.contact, params: { expires: String(binding.expires_in) } }));
    port.reply(request, 200, 'OK', { headers: { contact: contacts.length > 0 ? contacts : undefined, date: new Date(this.deps.clock.now()).toUTCString() } });
    // Refreshes come every minute or so from every PBX: debug, not info.
    this.deps.logger.debug({ trunkId: trunk.id, source: `${remote.address}:${remote.port}`, bindings: bindings.length }, 'registered');
  }

  private contactChanges(request: SipRequest):
    | { kind: 'changes'; changes: ContactChange[] }
    | { kind: 'remove-all' }
    | { kind: 'too-brief' }
    | { kind: 'bad'; reason: string } {
    const expiresHeader = headerText(request.headers, 'expires');
    const headerExpires = expiresHeader === undefined ? null : Number(expiresHeader);
    if (headerExpires !== null && (!Number.isInteger(headerExpires) || headerExpires < 0)) return { kind: 'bad', reason: 'Bad Expires' };
    const contact = request.headers.contact;
    if (contact === '*') {
      // RFC 3261 section 10.3 step 6: "*" only with Expires: 0.
      return headerExpires === 0 ? { kind: 'remove-all' } : { kind: 'bad', reason: 'Contact * needs Expires: 0' };
    }
    const changes: ContactChange[] = [];
    for (const entry of contact ?? []) {
      const asked = entry.params.expires != null ? Number(entry.params.expires) : (headerExpires ?? DEFAULT_EXPIRES_S);
      if (!Number.isInteger(asked) || asked < 0) return { kind: 'bad', reason: 'Bad Contact expires' };
      if (asked > 0 && asked < MIN_EXPIRES_S) return { kind: 'too-brief' };
      if (!/^sips?:/i.test(entry.uri) || entry.uri.length > 512 || hasControlCharacter(entry.uri)) return { kind: 'bad', reason: 'Bad Contact' };
      changes.push({ contact: entry.uri, expiresS: Math.min(asked, MAX_EXPIRES_S) });
    }
    return { kind: 'changes', changes };
  }
}
