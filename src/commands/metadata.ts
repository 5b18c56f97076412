// Who caused an event and why, kept in its metadata (the stream stays the one record of what
// changed): the actor (a key's owner, an operator, the scheduler), and correlation and causation
// ids in EventStoreDB's `$correlationId` / `$causationId` convention, so one request or one
// withdrawal can be followed through the log.

export type Actor =
  | { readonly type: 'owner'; readonly keyId: string; readonly owner: string }
  | { readonly type: 'operator'; readonly keyId?: string; readonly name?: string }
  | { readonly type: 'scheduler'; readonly instance: string }
  /** `AUTH=off`: the original's open API, no identity. */
  | { readonly type: 'anonymous' };

export interface CommandContext {
  readonly actor?: Actor;
  /**
   * Whether the caller may act on a wallet with this owner (an owner key: its own wallets only).
   * Checked against the state the command is decided on: a refusal is a `WalletNotFound`, as for
   * a wallet that does not exist, and changes nothing.
   */
  readonly mayActOn?: (owner: string | null) => boolean;
  /** The request's id, or the withdrawal's for the scheduler's steps. */
  readonly correlationId?: string;
  /** The request or event that caused this command. */
  readonly causationId?: string;
}

export type EventMetadata = {
  readonly actor?: Actor;
  readonly $correlationId?: string;
  readonly $causationId?: string;
};

export function metadataOf(context: CommandContext | undefined): EventMetadata | undefined {
  if (!context) return undefined;
  const { actor, correlationId, causationId } = context;
  return {
    ...(actor ? { actor } : {}),
    ...(correlationId ? { $correlationId: correlationId } : {}),
    ...(causationId ? { $causationId: causationId } : {}),
  };
}
