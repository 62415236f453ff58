import { In, type EntityManager } from 'typeorm';
import { HEALTH_CHECK_DEFAULTS, TrunkHealthState } from '../../domain/trunk-health';
import type { Trunk } from '../../schema/entities/trunk.entity';
import { TrunkHealth } from '../../schema/entities/trunk-health.entity';
import type { HealthCheckInput } from './trunk.input';
import { HealthCheckType, TrunkHealthType } from './trunk-health.type';

/** The probing settings of a new trunk. */
export function defaultHealthCheck(): Pick<Trunk, 'healthCheckEnabled' | 'healthCheckIntervalSeconds' | 'healthCheckFailuresToDown' | 'healthCheckSuccessesToUp'> {
  return {
    healthCheckEnabled: HEALTH_CHECK_DEFAULTS.enabled,
    healthCheckIntervalSeconds: HEALTH_CHECK_DEFAULTS.intervalSeconds,
    healthCheckFailuresToDown: HEALTH_CHECK_DEFAULTS.failuresToDown,
    healthCheckSuccessesToUp: HEALTH_CHECK_DEFAULTS.successesToUp,
  };
}

/** Applies a partial input: fields left out (or null) keep their value. The input class checked the limits. */
export function applyHealthCheck(trunk: Trunk, input: HealthCheckInput | null | undefined): void {
  if (input == null) return;
  if (input.enabled != null) trunk.healthCheckEnabled = input.enabled;
  if (input.intervalSeconds != null) trunk.healthCheckIntervalSeconds = input.intervalSeconds;
  if (input.failuresToDown != null) trunk.healthCheckFailuresToDown = input.failuresToDown;
  if (input.successesToUp != null) trunk.healthCheckSuccessesToUp = input.successesToUp;
}

export function healthCheckOf(trunk: Trunk): HealthCheckType {
  return Object.assign(new HealthCheckType(), {
    enabled: trunk.healthCheckEnabled,
    intervalSeconds: trunk.healthCheckIntervalSeconds,
    failuresToDown: trunk.healthCheckFailuresToDown,
    successesToUp: trunk.healthCheckSuccessesToUp,
  });
}

/**
 * The health of each trunk, in one query for all of them. A trigger makes the row with the trunk,
 * so a trunk without one is only seen while its row is being replaced: it reads as UNKNOWN since
 * the trunk was made.
 */
export async function healthOf(manager: EntityManager, trunks: readonly Trunk[]): Promise<Map<string, TrunkHealthType>> {
  const rows = trunks.length === 0 ? [] : await manager.findBy(TrunkHealth, { trunkId: In(trunks.map((trunk) => trunk.id)) });
  const byTrunk = new Map(rows.map((row) => [row.trunkId, row]));
  return new Map(
    trunks.map((trunk) => {
      const row = byTrunk.get(trunk.id);
      return [
        trunk.id,
        Object.assign(new TrunkHealthType(), {
          state: row?.state ?? TrunkHealthState.UNKNOWN,
          reason: row?.reason ?? null,
          since: row?.since ?? trunk.createdAt,
          lastProbeAt: row?.lastProbeAt ?? null,
          lastProbeRttMs: row?.lastProbeRttMs ?? null,
        }),
      ];
    }),
  );
}
