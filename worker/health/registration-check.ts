import type { Pool } from 'pg';

/**
 * How often the SIP node looks for trunks whose last binding expired while `trunk_health` still
 * says registered (a REGISTER with Expires 0 is seen at once by the registrar; an expiry is not).
 */
export const REGISTRATION_CHECK_MS = 2_000;

/** Trunks whose health says registered but that have no unexpired binding. */
export async function trunksWithLapsedRegistration(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ trunk_id: string }>(
    `SELECT h.trunk_id FROM trunk_health h
      WHERE h.registered AND NOT EXISTS (SELECT 1 FROM registration r WHERE r.trunk_id = h.trunk_id AND r.expires_at > now())`,
  );
  return rows.map((row) => row.trunk_id);
}
