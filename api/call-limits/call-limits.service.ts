import type { DataSource } from 'typeorm';
import { DEFAULT_MAX_CALL_LENGTH_SECONDS, isMaxCallLength, MAX_MAX_CALL_LENGTH_SECONDS, MIN_MAX_CALL_LENGTH_SECONDS } from '../../domain/call-limits';
import { CallLimits } from '../../schema/entities/call-limits.entity';
import type { Actor } from '../auth/actor';
import { badInput, forbidden } from '../errors';
import { inTransaction } from '../transaction';

function requireOperator(actor: Actor): void {
  if (actor.kind !== 'operator') throw forbidden('call limits are managed by operators');
}

/**
 * The operator's call limits (domain/call-limits.ts): the maximum call length for calls whose
 * ends agreed on no session timer. The SIP workers read it from their snapshot; a call takes the
 * value in force when it was answered.
 */
export class CallLimitsService {
  constructor(private readonly dataSource: DataSource) {}

  /** Sets the maximum call length; returns it as stored. */
  async setMaxCallLength(actor: Actor, seconds: number): Promise<number> {
    requireOperator(actor);
    if (!isMaxCallLength(seconds)) {
      throw badInput([`seconds: must be ${MIN_MAX_CALL_LENGTH_SECONDS}..${MAX_MAX_CALL_LENGTH_SECONDS}`]);
    }
    return inTransaction(this.dataSource, async (manager) => {
      const [existing] = await manager.find(CallLimits, { lock: { mode: 'pessimistic_write' } });
      const row = existing ?? manager.create(CallLimits, {});
      row.maxCallLengthSeconds = seconds;
      return (await manager.save(row)).maxCallLengthSeconds;
    });
  }

  async maxCallLength(actor: Actor): Promise<number> {
    requireOperator(actor);
    const [row] = await this.dataSource.getRepository(CallLimits).find();
    return row?.maxCallLengthSeconds ?? DEFAULT_MAX_CALL_LENGTH_SECONDS;
  }
}
