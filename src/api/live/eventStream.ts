// One Server-Sent Events answer: the body is a Readable that Fastify pipes to the client, so its
// headers and hooks (security headers, request id, metrics, access log) are the API's own. Events
// catching up are written at the client's pace; live events are written at once, and a client
// whose unread backlog passes `maxBufferedBytes` is dropped (an `end` event, then the connection
// closes), so a slow reader never holds others up nor grows memory without bound. A comment line
// every `heartbeatMs` keeps proxies from closing a quiet stream; every `recheckMs` the key (or
// session) is checked again and the stream ends once it is revoked.
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LiveConfig } from '../../infra/config.ts';
import type { EndReason } from './hub.ts';
import { liveMetrics } from './metrics.ts';

export interface EventStream {
  /** A live event: written at once; drops the client if it is too far behind. */
  write(frame: string): void;
  /** A catch-up event: resolves when the client may take more (or the stream closed). */
  writePaced(frame: string): Promise<void>;
  /** Ends the stream with an `end` event saying why (no-op once ended). */
  end(reason: EndReason): void;
  readonly closed: boolean;
}

const END_DETAIL: Record<EndReason, string> = {
  too_slow: 'The client read too slowly; reconnect with Last-Event-ID to resume.',
  revoked: 'The key (or session) of this stream is no longer valid.',
  unavailable: 'The event store subscription failed; reconnect with Last-Event-ID to resume.',
  shutdown: 'The server is stopping; reconnect with Last-Event-ID to resume.',
};

/** A frame of the stream: `id:`, `event:` and one `data:` line (JSON has no line breaks). */
export const eventFrame = (id: string, type: string, data: string) =>
  `id: ${id}\nevent: ${type}\ndata: ${data}\n\n`;

export interface EventStreamOptions extends LiveConfig {
  /** How long a dropped client's connection may take to drain its end event before it is cut. */
  readonly dropGraceMs?: number;
  /** Called once the client is gone or the stream ended. */
  readonly onClose: () => void;
}

/** Starts the answer (200, text/event-stream) and returns its writer. */
export function openEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  { heartbeatMs, recheckMs, maxBufferedBytes, dropGraceMs = 10_000, onClose }: EventStreamOptions,
): EventStream {
  let wake: (() => void) | undefined;
  const resume = () => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  const body = new Readable({ read: resume });
  let ended = false;
  let closed = false;
  let told = false;
  const tell = () => {
    if (told) return;
    told = true;
    onClose();
  };

  const heartbeat = setInterval(() => push(': heartbeat\n\n'), heartbeatMs);
  const recheck = setInterval(() => {
    void request.principalStillValid().then(
      (valid) => valid || stream.end('revoked'),
      () => {}, // the database is away: the key is asked again next time
    );
  }, recheckMs);
  heartbeat.unref();
  recheck.unref();
  const stopTimers = () => {
    clearInterval(heartbeat);
    clearInterval(recheck);
  };
  // Fastify destroys the body when the connection closes (the client left, or was cut). A client
  // that only half-closed its side would otherwise keep the connection (and a server stopping)
  // waiting: the answer was never ended, so the socket goes too.
  body.on('close', () => {
    if (!body.readableEnded) reply.raw.destroy();
    closed = true;
    stopTimers();
    resume();
    tell();
  });

  const push = (frame: string) => {
    if (ended) return true;
    return body.push(frame);
  };

  const stream: EventStream = {
    write(frame) {
      push(frame);
      if (body.readableLength > maxBufferedBytes) stream.end('too_slow');
    },
    async writePaced(frame) {
      if (push(frame) || closed || ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    },
    end(reason) {
      if (ended) return;
      push(`event: end\ndata: ${JSON.stringify({ reason, detail: END_DETAIL[reason] })}\n\n`);
      ended = true;
      stopTimers();
      liveMetrics.ended.inc({ reason });
      body.push(null);
      tell();
      if (reason === 'too_slow') {
        // It may never read its backlog: the connection goes after a grace period.
        setTimeout(() => reply.raw.destroy(), dropGraceMs).unref();
      }
    },
    get closed() {
      return closed || ended;
    },
  };

  void reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache, no-transform')
    // nginx and other proxies: pass each event on as it comes.
    .header('x-accel-buffering', 'no')
    .send(body);
  push(': stream open\n\n'); // the headers go out now, not with the first event
  return stream;
}
