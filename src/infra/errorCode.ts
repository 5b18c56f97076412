/** The first `code` (`ECONNREFUSED`, `UND_ERR_...`) along an error's chain of causes. */
export function errorCode(error: unknown): string | undefined {
  let current = error as { code?: string; cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current.code) return current.code;
    current = current.cause as typeof current;
  }
  return undefined;
}
