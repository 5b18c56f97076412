import type pg from 'pg';
import { NOTIFY_SCHEMA } from '../schema.ts';

/**
 * Disables an endpoint that has been failing too long, saying why; false if it was disabled
 * already since it was last enabled (`enabledAt`).
 */
export async function disableEndpoint(
  pool: Pick<pg.Pool, 'query'>,
  {
    endpointId,
    at,
    reason,
    enabledAt,
  }: { endpointId: string; at: Date; reason: string; enabledAt: Date },
): Promise<boolean> {
  const { rowCount } = await pool.query({
    name: 'notify-disable-endpoint',
    text: `update ${NOTIFY_SCHEMA}.endpoint_health set disabled_at = $2, disabled_reason = $3
           where endpoint_id = $1 and (disabled_at is null or disabled_at < $4)`,
    values: [endpointId, at, reason, enabledAt],
  });
  return rowCount === 1;
}
