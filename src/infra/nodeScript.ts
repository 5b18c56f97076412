// How a role starts another Node process of this project: the same build of the code as its own.
// Running from the TypeScript sources, the child gets tsx as its loader (resolved from here, not
// from the working folder); running from the compiled `dist/`, the compiled file and no loader.
import { fileURLToPath } from 'node:url';

const fromSources = import.meta.url.endsWith('.ts');

/**
 * The node arguments that run `relativePath` (written as the `.ts` source, relative to `base`, an
 * `import.meta.url`) in this build: `--import <tsx> file.ts`, or `file.js`.
 */
export function nodeScriptArgs(relativePath: string, base: string): string[] {
  const script = fromSources ? relativePath : relativePath.replace(/\.ts$/, '.js');
  const file = fileURLToPath(new URL(script, base));
  return fromSources ? ['--import', import.meta.resolve('tsx'), file] : [file];
}
