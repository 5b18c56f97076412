// A request the API answers without the domain deciding (malformed input, a read model not ready):
// a status and the body, in the original service's shapes (field -> messages, or {"detail"}).
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly status: number,
    readonly body: Readonly<Record<string, unknown>>,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(typeof body.detail === 'string' ? body.detail : 'Invalid request.');
  }
}

/** A 400 naming the field and what is wrong with it. */
export const fieldError = (field: string, ...messages: string[]) =>
  new RequestError(400, { [field]: messages });
