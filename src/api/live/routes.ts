// Live updates as Server-Sent Events, fed by the process's one shared subscription (hub.ts):
//   GET /api/wallets/<id>/events   one wallet's events; `id:` is the stream revision
//   GET /api/events                every wallet's events (operators); `id:` is the global position
// Each stream first catches up from where the client asks (Last-Event-ID, or ?from_revision= on
// the wallet stream) by reading the store, then follows the hub, skipping what its read already
// sent: no gap, no duplicate (see LiveHub.join). Without a position, only what comes next.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { mayAccessWallet } from '../../access/principal.ts';
import type { WalletCommandHandler } from '../../commands/walletCommandHandler.ts';
import { WalletNotFound } from '../../domain/errors.ts';
import { WALLET_STREAM_PREFIX, walletStreamId } from '../../domain/events.ts';
import {
  comparePositions,
  type EventStore,
  type Position,
  type RecordedEvent,
} from '../../eventstore/eventStore.ts';
import type { LiveConfig } from '../../infra/config.ts';
import { eventJson } from '../eventJson.ts';
import { RequestError } from '../requestError.ts';
import { walletIdOf } from '../routes/wallets.ts';
import { ErrorResponse, WalletParams } from '../schemas.ts';
import { type EventStream, eventFrame, openEventStream } from './eventStream.ts';
import type { EndReason, LiveHub, LiveListener } from './hub.ts';

export interface LiveRoutesOptions {
  readonly hub: LiveHub;
  readonly commands: WalletCommandHandler;
  readonly store: EventStore;
  readonly live: LiveConfig;
  /** Live events held for a client still catching up; more drops it. Default 10,000. */
  readonly maxQueuedEvents?: number;
}

/** Events read per page while catching up. */
const PAGE = 500;

/** One client's stream: where it stands, and how to read on from there. */
interface Feed {
  /** Only this stream's events; otherwise every wallet's. */
  readonly streamId?: string;
  /** Up to PAGE stored events after those passed on. */
  readPage(): Promise<RecordedEvent[]>;
  /** False for an event passed on already; otherwise moves the position past it. */
  pass(event: RecordedEvent): boolean;
  frame(event: RecordedEvent): string;
}

/** The global position as one opaque event id, and back. */
export const positionId = (p: Position) => `${p.commit}-${p.prepare}`;
function parsePositionId(id: string): Position {
  const match = /^(\d{1,20})-(\d{1,20})$/.exec(id);
  if (!match) throw badLastEventId('an id this stream sent');
  return { commit: BigInt(match[1] as string), prepare: BigInt(match[2] as string) };
}

const badLastEventId = (what: string) =>
  new RequestError(400, { detail: `Last-Event-ID must be ${what}.` });

// The JSON of an event is the same for every client: made once per event (the hub hands every
// listener the same object).
const json = new WeakMap<RecordedEvent, string>();
function dataOf(event: RecordedEvent): string {
  let text = json.get(event);
  if (text === undefined) {
    const wallet = event.streamId.slice(WALLET_STREAM_PREFIX.length);
    text = JSON.stringify({ wallet, ...eventJson(event) });
    json.set(event, text);
  }
  return text;
}
const walletFrame = (e: RecordedEvent) => eventFrame(String(e.revision), e.type, dataOf(e));
const globalFrame = (e: RecordedEvent) => eventFrame(positionId(e.position), e.type, dataOf(e));

const EVENT_STREAM = {
  200: Type.String({
    description:
      'text/event-stream: `id:` (resume with Last-Event-ID), `event:` (the event type), `data:` (the event as history/ shows it, with its wallet); comment lines as heartbeats; a final `end` event when the server ends the stream',
  }),
};

export const liveRoutes: FastifyPluginAsyncTypebox<LiveRoutesOptions> = async (app, options) => {
  const { hub, commands, store, live, maxQueuedEvents = 10_000 } = options;

  /**
   * Joins the hub (live events queue up meanwhile), opens the stream, catches up by reading the
   * store page by page, then passes on the queued and later events the read did not send.
   */
  async function follow(request: FastifyRequest, reply: FastifyReply, feed: Feed) {
    const send = (stream: EventStream, event: RecordedEvent) => {
      if (feed.pass(event)) stream.write(feed.frame(event));
    };
    const catchUp = async (stream: EventStream) => {
      for (;;) {
        const page = await feed.readPage();
        for (const event of page) {
          if (stream.closed) return;
          // The global log holds other streams too; the hub passes on wallets' events only.
          if (feed.pass(event) && event.streamId.startsWith(WALLET_STREAM_PREFIX))
            await stream.writePaced(feed.frame(event));
        }
        if (page.length < PAGE) return;
      }
    };
    let stream: EventStream | undefined;
    let endedEarly: EndReason | undefined;
    let queue: RecordedEvent[] | undefined = [];
    const listener: LiveListener = {
      ...(feed.streamId === undefined ? {} : { streamId: feed.streamId }),
      deliver(event) {
        if (!queue) return send(stream as EventStream, event);
        queue.push(event);
        if (queue.length > maxQueuedEvents) listener.end('too_slow');
      },
      end(reason) {
        if (stream) stream.end(reason);
        else endedEarly = reason;
      },
    };
    await hub.join(listener); // a failure here is an error answer, not a stream
    stream = openEventStream(request, reply, { ...live, onClose: () => hub.leave(listener) });
    if (endedEarly) stream.end(endedEarly);
    const opened = stream;
    void (async () => {
      await catchUp(opened);
      const queued = queue ?? [];
      queue = undefined;
      for (const event of queued) send(opened, event);
    })().catch((error: unknown) => {
      request.log.warn({ err: error }, 'event stream catch-up failed');
      opened.end('unavailable');
    });
    return reply;
  }

  app.get(
    '/api/wallets/:id/events',
    {
      config: { scope: 'wallets:read' },
      schema: {
        summary: "A wallet's events as they are appended (Server-Sent Events)",
        description:
          'Resumes after `Last-Event-ID` (a stream revision) or from `?from_revision=` (inclusive); otherwise starts with the next event. Same authorization as reading the wallet.',
        produces: ['text/event-stream'],
        params: WalletParams,
        querystring: Type.Object(
          { from_revision: Type.Optional(Type.String({ pattern: '^\\d{1,18}$' })) },
          { additionalProperties: true },
        ),
        response: { ...EVENT_STREAM, 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const walletId = walletIdOf(request.params.id);
      const wallet = await commands.load(walletId);
      if (!wallet || !mayAccessWallet(request.principal, wallet.owner)) throw new WalletNotFound();
      const lastEventId = request.headers['last-event-id'];
      let next: bigint; // the first revision to send
      if (typeof lastEventId === 'string') {
        if (!/^\d{1,18}$/.test(lastEventId)) throw badLastEventId('a stream revision');
        next = BigInt(lastEventId) + 1n;
      } else if (request.query.from_revision !== undefined) {
        next = BigInt(request.query.from_revision);
      } else {
        next = wallet.revision + 1n;
      }
      const streamId = walletStreamId(walletId);
      return follow(request, reply, {
        streamId,
        readPage: () => store.readStream(streamId, { fromRevision: next, maxCount: PAGE }),
        pass: (event) => {
          if (event.revision < next) return false;
          next = event.revision + 1n;
          return true;
        },
        frame: walletFrame,
      });
    },
  );

  app.get(
    '/api/events',
    {
      config: { operatorOnly: true },
      schema: {
        summary: "Every wallet's events as they are appended (Server-Sent Events, operators)",
        description:
          '`id:` is the event’s global position (opaque); resumes after `Last-Event-ID`, otherwise starts with the next event.',
        produces: ['text/event-stream'],
        response: { ...EVENT_STREAM, 400: ErrorResponse },
      },
    },
    async (request, reply) => {
      const lastEventId = request.headers['last-event-id'];
      let last = typeof lastEventId === 'string' ? parsePositionId(lastEventId) : undefined;
      return follow(request, reply, {
        // Without a position, nothing to catch up: the next event is the first.
        readPage: async () => (last ? store.readAll(last, PAGE) : []),
        pass: (event) => {
          if (last && comparePositions(event.position, last) <= 0) return false;
          last = event.position;
          return true;
        },
        frame: globalFrame,
      });
    },
  );
};
