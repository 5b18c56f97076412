// Fault injection for the transaction service: the global latency and random failure rate, plus
// an ordered list of rules that force one outcome on matching requests, so tests can drive every
// branch of a payout client deterministically. Set at start (options / environment) and replaced
// at run time through `PUT /faults` (see app.ts).
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** Longest latency or hang a rule may ask for: one hour. */
export const MAX_DELAY_MS = 3_600_000;

/**
 * What a matching request gets. "Not paid" modes never touch the books; the others decide a key
 * that has no verdict yet (a key already paid or refused keeps its verdict, see app.ts).
 */
export const FAULT_MODES = [
  'normal', // as without a rule (random failure rate), useful with latencyMs for one slow request
  'success', // pays, whatever the failure rate
  'failed', // HTTP 200 {"data": "failed", "status": 503}: the original's transient failure, not paid
  'http500', // HTTP 500, not paid
  'http503', // HTTP 503, not paid
  'refuse', // HTTP 422 {"data": "refused", "status": 422}: never pays this key, sticky
  'hang', // never answers (or answers "failed" after hangMs), not paid
  'lostAnswer', // pays, then destroys the socket without answering
  'lostAnswerHang', // pays, then never answers
] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

const Delay = Type.Integer({ minimum: 0, maximum: MAX_DELAY_MS });
const Key = Type.String({ minLength: 1, maxLength: 255 });

export const FaultRuleSchema = Type.Object(
  {
    mode: Type.Union(FAULT_MODES.map((mode) => Type.Literal(mode))),
    /** Applies to the next `times` matching requests, then disappears; absent: every request. */
    times: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    /** Only requests with exactly this Idempotency-Key. */
    key: Type.Optional(Key),
    /** Only requests whose Idempotency-Key starts with this. */
    keyPrefix: Type.Optional(Key),
    /** Latency for matching requests instead of the global one. */
    latencyMs: Type.Optional(Delay),
    /** `hang` only: answer "failed" (not paid) after this long instead of never. */
    hangMs: Type.Optional(Delay),
  },
  { additionalProperties: false },
);
export type FaultRule = Static<typeof FaultRuleSchema>;

export const FaultSettingsSchema = Type.Object(
  {
    latencyMs: Type.Optional(Delay),
    failureRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    rules: Type.Optional(Type.Array(FaultRuleSchema, { maxItems: 100 })),
  },
  { additionalProperties: false },
);
export type FaultSettings = Static<typeof FaultSettingsSchema>;
export type ActiveFaults = Required<FaultSettings>;

/** The checks a JSON schema cannot say clearly; undefined when the settings make sense. */
export function findFaultSettingsProblem(settings: FaultSettings): string | undefined {
  for (const [index, rule] of (settings.rules ?? []).entries()) {
    if (rule.key !== undefined && rule.keyPrefix !== undefined) {
      return `rules/${index}: give key or keyPrefix, not both`;
    }
    if (rule.hangMs !== undefined && rule.mode !== 'hang') {
      return `rules/${index}: hangMs only applies to mode "hang"`;
    }
  }
  return undefined;
}

/** Validates settings from outside an HTTP request (options, environment); throws with a reason. */
export function assertFaultSettings(settings: unknown): FaultSettings {
  const error = Value.Errors(FaultSettingsSchema, settings).First();
  if (error) throw new Error(`invalid fault settings at ${error.path || '/'}: ${error.message}`);
  const valid = settings as FaultSettings;
  const problem = findFaultSettingsProblem(valid);
  if (problem) throw new Error(`invalid fault settings: ${problem}`);
  return valid;
}

/**
 * Holds the active faults. `replace` sets all of them at once (omitted fields take the start-up
 * values), `reset` returns to the start-up values; rules are copied so their `times` count down
 * without touching the caller's objects.
 */
export function createFaultController(startup: ActiveFaults) {
  const copy = (settings: FaultSettings): ActiveFaults => ({
    latencyMs: settings.latencyMs ?? startup.latencyMs,
    failureRate: settings.failureRate ?? startup.failureRate,
    rules: (settings.rules ?? startup.rules).map((rule) => ({ ...rule })),
  });
  let active = copy(startup);

  return {
    readFaults(): ActiveFaults {
      return copy(active);
    },
    replaceFaults(settings: FaultSettings): void {
      active = copy(settings);
    },
    resetFaults(): void {
      active = copy(startup);
    },
    /** The first rule matching this key, counted as used; undefined when none matches. */
    takeRule(key: string | null): FaultRule | undefined {
      const index = active.rules.findIndex((rule) => matchesKey(rule, key));
      const rule = active.rules[index];
      if (!rule) return undefined;
      if (rule.times !== undefined) {
        rule.times -= 1;
        if (rule.times === 0) active.rules.splice(index, 1);
      }
      return { ...rule };
    },
  };
}

export type FaultController = ReturnType<typeof createFaultController>;

function matchesKey(rule: FaultRule, key: string | null): boolean {
  if (rule.key !== undefined) return key === rule.key;
  if (rule.keyPrefix !== undefined) return key?.startsWith(rule.keyPrefix) ?? false;
  return true;
}
