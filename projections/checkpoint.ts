// The checkpoint a read model is current to: the position of the last event applied, stored in the
// same schema (and committed in the same transaction) as the rows it describes.
import type pg from 'pg';
import { type Position, START } from '../src/eventstore/eventStore.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface Checkpoint {
  readonly position: Position;
  readonly lastRecordedAt: Date | null;
}

export async function readCheckpoint(db: Queryable, schema: string): Promise<Checkpoint> {
  const { rows } = await db.query<{
    commit: string | null;
    prepare: string | null;
    last: Date | null;
  }>(
    `select commit_position::text as commit, prepare_position::text as prepare,
            last_recorded_at as last
     from ${schema}.checkpoint`,
  );
  const row = rows[0];
  const position =
    row?.commit == null || row.prepare == null
      ? START
      : { commit: BigInt(row.commit), prepare: BigInt(row.prepare) };
  return { position, lastRecordedAt: row?.last ?? null };
}

/** Thrown when the checkpoint is not where this projector left it (a rebuild swapped tables in). */
export class CheckpointMovedError extends Error {
  override readonly name = 'CheckpointMovedError';
}

/**
 * Moves the checkpoint from `from` to `to`, only if it still is at `from` and the tables are of
 * layout `version`: the guard that makes a projector whose tables were swapped under it start
 * over instead of applying events twice, or writing into a layout it does not know (a newer
 * projector's, during a rolling upgrade). Its transaction then rolls back.
 */
export async function storeCheckpoint(
  db: Queryable,
  schema: string,
  from: Position,
  to: Position,
  lastRecordedAt: Date,
  options: {
    /** The read models' layout; the notify role's checkpoint has none. */
    readonly version?: number;
    /**
     * A channel told the new commit position when the transaction commits: in this statement, not
     * one of its own, as a projector batch pays a round trip per statement.
     */
    readonly notify?: string;
  } = {},
): Promise<void> {
  const { version, notify } = options;
  const fresh = from.commit < 0n;
  const values: unknown[] = [to.commit.toString(), to.prepare.toString(), lastRecordedAt];
  const guards = [
    fresh ? 'commit_position is null' : 'commit_position = $4 and prepare_position = $5',
  ];
  if (!fresh) values.push(from.commit.toString(), from.prepare.toString());
  if (version !== undefined) {
    values.push(version);
    guards.push(`version = $${values.length}`);
  }
  let notifying = '';
  if (notify !== undefined) {
    values.push(notify);
    notifying = ` returning pg_notify($${values.length}, commit_position::text)`;
  }
  const { rowCount } = await db.query(
    `update ${schema}.checkpoint
     set commit_position = $1, prepare_position = $2, last_recorded_at = $3, updated_at = now()
     where ${guards.join(' and ')}${notifying}`,
    values,
  );
  if (rowCount !== 1) throw new CheckpointMovedError(`The ${schema} checkpoint moved.`);
}
