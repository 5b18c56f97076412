// The API as the console calls it: same origin, the session cookie sent by the browser, JSON in
// and out. Answers are { ok, status, body }; only a network failure throws.
export async function api(method, path, body, { idempotencyKey } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { detail: text };
  }
  return { ok: response.ok, status: response.status, body: parsed };
}

/** The messages of an error answer: by field (the original's shape) and for the whole form. */
export function errorsOf(answer, fields) {
  const byField = {};
  const general = [];
  const body = answer.body ?? {};
  for (const [name, value] of Object.entries(body)) {
    const messages = Array.isArray(value) ? value.map(String) : [String(value)];
    if (fields.includes(name)) byField[name] = messages;
    else if (name === 'detail' || name === 'non_field_errors') general.push(...messages);
    else general.push(...messages.map((m) => `${name}: ${m}`));
  }
  if (!answer.ok && general.length === 0 && Object.keys(byField).length === 0) {
    general.push(`The request failed (HTTP ${answer.status}).`);
  }
  return { byField, general };
}

export const newKey = () => crypto.randomUUID();

export const formatTime = (iso) => (iso ? new Date(iso).toLocaleString() : '');

export const shortId = (id) => String(id).slice(0, 8);
