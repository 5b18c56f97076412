// The CLI's commands are one table (main.ts): each entry names its arguments and options, and the
// usage text, the dispatch and the checking of a command line all come from it.
import { parseArgs } from 'node:util';

export type OptionSpec =
  /** `--force`: present or not. */
  | { readonly type: 'boolean'; readonly description: string }
  /** `--by <name>`: takes a value (`value` names it in the usage); `multiple`: may repeat. */
  | {
      readonly type: 'string';
      readonly value: string;
      readonly description: string;
      readonly multiple?: boolean;
    };

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The values of a command's options: a string for a value option, true for a flag given. */
export type OptionValues<O extends OptionSpecs> = {
  readonly [K in keyof O]?: O[K] extends { type: 'string'; multiple: true }
    ? string[]
    : O[K] extends { type: 'string' }
      ? string
      : O[K] extends { type: 'boolean' }
        ? boolean
        : string | boolean;
};

export interface CommandInput<O extends OptionSpecs = OptionSpecs> {
  /** The positional arguments, as many as the command declares. */
  readonly args: readonly string[];
  readonly options: OptionValues<O>;
}

export interface CommandSpec<Context, O extends OptionSpecs> {
  /** One word, or two for a group (`keys create`): the command line starts with them. */
  readonly name: string;
  /**
   * Positional arguments as the usage shows them, e.g. `['<wallet>', 'paid|not-paid']`; each is
   * required, except those written in brackets (`[<limit>]`), which may only come last.
   */
  readonly args?: readonly string[];
  readonly options?: O;
  /** One sentence or two; the usage wraps it. */
  readonly description: string;
  /** A role of the service: runs until SIGINT/SIGTERM instead of to completion. */
  readonly role?: boolean;
  /** Does the work; resolves with the exit code. */
  run(context: Context, input: CommandInput<O>): Promise<number>;
}

export type Command<Context> = CommandSpec<Context, OptionSpecs>;

/** Keeps a command's option names and value types known to its `run`. */
export function defineCommand<Context, O extends OptionSpecs = Record<never, OptionSpec>>(
  spec: CommandSpec<Context, O>,
): Command<Context> {
  return spec as unknown as Command<Context>;
}

export type ParsedCommandLine<Context> =
  | { readonly kind: 'run'; readonly command: Command<Context>; readonly input: CommandInput }
  | { readonly kind: 'help'; readonly text: string }
  /** Exit 2 with this on stderr: one line saying what is wrong, then the usage. */
  | { readonly kind: 'usage-error'; readonly text: string };

const HELP = new Set(['help', '--help', '-h']);

export interface Program {
  /** How the program is called, e.g. `npm run cli --`. */
  readonly name: string;
  /** Said after the list of commands. */
  readonly footer?: string;
}

/** What `argv` (without node and the script) asks for; no command means `start`. */
export function parseCommandLine<Context>(
  commands: readonly Command<Context>[],
  argv: readonly string[],
  program: Program,
): ParsedCommandLine<Context> {
  const [first = 'start'] = argv;
  if (HELP.has(first)) return { kind: 'help', text: formatUsage(commands, program) };
  // The longest name the command line starts with (`keys create` before a plain `keys`).
  const command = commands
    .filter((candidate) =>
      candidate.name.split(' ').every((word, i) => (argv[i] ?? 'start') === word),
    )
    .sort((a, b) => b.name.length - a.name.length)[0];
  const name = command?.name ?? first;
  const rest = argv.slice(name.split(' ').length);
  if (!command) {
    return {
      kind: 'usage-error',
      text: `Unknown command "${name}".\n\n${formatUsage(commands, program)}`,
    };
  }
  const usageError = (problem: string): ParsedCommandLine<Context> => ({
    kind: 'usage-error',
    text: `${name}: ${problem}\nusage: ${commandUsage(command, program.name)}`,
  });
  const specs = command.options ?? {};
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: {
        ...Object.fromEntries(
          Object.entries(specs).map(([key, spec]) => [
            key,
            { type: spec.type, multiple: spec.type === 'string' && spec.multiple === true },
          ]),
        ),
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (error) {
    // Node's messages go on with advice about `--`; the first sentence says what is wrong.
    const problem = (error as Error).message.split(/\.\s/)[0] as string;
    return usageError(`${problem.charAt(0).toLowerCase()}${problem.slice(1)}`);
  }
  if (parsed.values.help) {
    return {
      kind: 'help',
      text: [
        `usage: ${commandUsage(command, program.name)}`,
        '',
        ...wrap(command.description, 0),
        ...optionLines(command),
      ].join('\n'),
    };
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option') continue;
    const spec = specs[token.name];
    if (spec?.type === 'string' && spec.multiple) continue;
    if (seen.has(token.name)) return usageError(`option --${token.name} is given more than once`);
    seen.add(token.name);
  }
  const declared = command.args ?? [];
  const required = declared.filter((arg) => !arg.startsWith('[')).length;
  const { positionals } = parsed;
  if (positionals.length > declared.length) {
    const extra = positionals.slice(declared.length).map((arg) => `"${arg}"`);
    return usageError(`unexpected argument${extra.length > 1 ? 's' : ''} ${extra.join(' ')}`);
  }
  if (positionals.length < required) {
    return usageError(`missing ${declared.slice(positionals.length, required).join(' ')}`);
  }
  const { help: _help, ...options } = parsed.values;
  return {
    kind: 'run',
    command,
    input: { args: positionals, options: options as OptionValues<OptionSpecs> },
  };
}

/** One line: the command, its arguments and its options. */
export function commandUsage(command: Command<unknown>, program: string): string {
  const options = Object.entries(command.options ?? {}).map(([key, spec]) =>
    spec.type === 'string'
      ? `[--${key} <${spec.value}>]${spec.multiple ? '...' : ''}`
      : `[--${key}]`,
  );
  return [program, command.name, ...(command.args ?? []), ...options].join(' ');
}

const WIDTH = 100;
const INDENT = 23;

/** Words of `text` in lines of at most `width` characters after `indent` spaces. */
function wrap(text: string, indent: number, width = WIDTH): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => `${' '.repeat(indent)}${l}`);
}

/** A term and its description: on one line when the term fits the column, else below it. */
function entry(term: string, description: string, indent: number): string[] {
  const lines = wrap(description, INDENT);
  const head = `${' '.repeat(indent)}${term}`;
  if (head.length < INDENT - 1 && lines[0]) {
    lines[0] = `${head}${lines[0].slice(head.length)}`;
    return lines;
  }
  return [head, ...lines];
}

function optionLines(command: Command<unknown>): string[] {
  return Object.entries(command.options ?? {}).flatMap(([key, spec]) =>
    entry(spec.type === 'string' ? `--${key} <${spec.value}>` : `--${key}`, spec.description, 4),
  );
}

/** The whole usage: every command with its arguments, options and description. */
export function formatUsage(commands: readonly Command<unknown>[], program: Program): string {
  const section = (title: string, list: readonly Command<unknown>[]) => [
    title,
    ...list.flatMap((command) => [
      ...entry([command.name, ...(command.args ?? [])].join(' '), command.description, 2),
      ...optionLines(command),
    ]),
  ];
  return [
    `Usage: ${program.name} <command> [arguments] [options]`,
    '',
    ...section(
      'Roles (each runs until stopped):',
      commands.filter((command) => command.role),
    ),
    '',
    ...section(
      'Tools:',
      commands.filter((command) => !command.role),
    ),
    '',
    `${program.name} <command> --help describes one command.`,
    ...(program.footer ? [program.footer] : []),
  ].join('\n');
}
