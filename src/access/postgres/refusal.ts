// A refused request as the access log keeps it.

export type RefusalReason =
  | 'no_credentials'
  | 'invalid_token'
  | 'invalid_session'
  | 'origin_mismatch'
  | 'missing_scope'
  | 'operator_only'
  | 'address_not_allowed'
  | 'rate_limited';

export interface Refusal {
  readonly at: Date;
  readonly keyId: string | null;
  readonly address: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly reason: RefusalReason;
}

export interface StoredRefusal extends Refusal {
  readonly id: string;
}
