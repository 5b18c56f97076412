// An event as the API shows it: in a wallet's history (`history/`) and on the event streams.
import type { RecordedEvent } from '../eventstore/eventStore.ts';

export function eventJson(event: RecordedEvent) {
  return {
    type: event.type,
    revision: Number(event.revision),
    position: {
      commit: event.position.commit.toString(),
      prepare: event.position.prepare.toString(),
    },
    recorded_at: event.recordedAt.toISOString(),
    data: event.data,
    metadata: event.metadata ?? {},
  };
}
