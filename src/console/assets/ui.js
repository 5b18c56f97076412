// Shared pieces of the console: htm bound to Preact, a form that sends one command with an
// Idempotency-Key and shows the API's field errors at their fields, and small helpers.

import { errorsOf, newKey } from './api.js';
import { useRef, useState } from './vendor/hooks.js';
import htm from './vendor/htm.js';
import { h } from './vendor/preact.js';

export const html = htm.bind(h);

let ids = 0;
const useId = (prefix) => {
  const id = useRef(null);
  id.current ??= `${prefix}-${++ids}`;
  return id.current;
};

/**
 * One field: its label, the control, a hint, and the API's messages for it (the control's
 * description, so a screen reader reads them with it).
 */
export function Field({ field, value, onInput, errors }) {
  const id = useId(field.name);
  const describedBy = [field.hint && `${id}-hint`, errors && `${id}-error`].filter(Boolean);
  const control =
    field.type === 'select'
      ? html`<select
          id=${id}
          name=${field.name}
          value=${value}
          onChange=${(e) => onInput(e.currentTarget.value)}
          aria-invalid=${errors ? 'true' : undefined}
          aria-describedby=${describedBy.join(' ') || undefined}
        >
          ${field.options.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
        </select>`
      : html`<input
          id=${id}
          name=${field.name}
          type=${field.type ?? 'text'}
          inputmode=${field.inputmode}
          autocomplete=${field.autocomplete ?? 'off'}
          required=${field.required}
          value=${value}
          onInput=${(e) => onInput(e.currentTarget.value)}
          aria-invalid=${errors ? 'true' : undefined}
          aria-describedby=${describedBy.join(' ') || undefined}
        />`;
  return html`<div class="field">
    <label for=${id}>${field.label}</label>
    ${control}
    ${field.hint && html`<p class="hint" id=${`${id}-hint`}>${field.hint}</p>`}
    ${errors && html`<p class="field-error" id=${`${id}-error`}>${errors.join(' ')}</p>`}
  </div>`;
}

/**
 * A form that sends one command. Its Idempotency-Key stays the same until a value changes or the
 * command succeeds, so a double click, or a retry after a lost answer, has its effect once.
 * `send(values, idempotencyKey)` returns the API's answer; `onDone(body)` follows a success.
 */
export function CommandForm({ title, fields, button, send, onDone, initial = {}, children }) {
  const headingId = useId('form');
  const blank = () => Object.fromEntries(fields.map((f) => [f.name, initial[f.name] ?? '']));
  const [values, setValues] = useState(blank);
  const [errors, setErrors] = useState({ byField: {}, general: [] });
  const [busy, setBusy] = useState(false);
  const key = useRef(null);
  key.current ??= newKey();

  const set = (name) => (value) => {
    key.current = newKey();
    setValues((old) => ({ ...old, [name]: value }));
  };
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const answer = await send(values, key.current);
      if (answer.ok) {
        key.current = newKey();
        setValues(blank());
        setErrors({ byField: {}, general: [] });
        onDone?.(answer.body);
      } else {
        setErrors(
          errorsOf(
            answer,
            fields.map((f) => f.name),
          ),
        );
      }
    } catch (error) {
      setErrors({ byField: {}, general: [`The service could not be reached (${error.message}).`] });
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="card" aria-labelledby=${headingId} onSubmit=${submit} novalidate>
    <h2 id=${headingId}>${title}</h2>
    ${children}
    ${fields.map(
      (field) =>
        html`<${Field}
          key=${field.name}
          field=${field}
          value=${values[field.name]}
          onInput=${set(field.name)}
          errors=${errors.byField[field.name]}
        />`,
    )}
    ${errors.general.length > 0 && html`<p class="form-error" role="alert">${errors.general.join(' ')}</p>`}
    <button type="submit" aria-busy=${busy ? 'true' : undefined}>${button}</button>
  </form>`;
}

/** A table that scrolls sideways on a narrow screen (and by keyboard: it takes focus). */
export function Table({ caption, head, children, empty }) {
  // The caption shows above the scrolling area (a narrow screen would scroll it away with the table);
  // screen readers get it from the table itself.
  return html`<p class="table-title" aria-hidden="true">${caption}</p>
    <div class="scroll" tabindex="0" role="region" aria-label=${caption}>
    <table>
      <caption class="visually-hidden">${caption}</caption>
      <thead>
        <tr>${head.map((title) => html`<th scope="col">${title}</th>`)}</tr>
      </thead>
      <tbody>
        ${children}
      </tbody>
    </table>
    ${empty && html`<p class="empty">${empty}</p>`}
  </div>`;
}

/** A message that the page loads or failed to. */
export function Problem({ answer }) {
  const { general } = errorsOf(answer, []);
  return html`<p class="form-error" role="alert">${general.join(' ')}</p>`;
}
