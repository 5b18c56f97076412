// The command table's parser: arguments counted, options typed (flags and options with values),
// anything else a usage error with one line and the command's usage.
import t, { type Test } from 'tap';
import {
  type Command,
  defineCommand,
  formatUsage,
  parseCommandLine,
} from '../../src/cli/commandLine.ts';

type Seen = { name: string; args: readonly string[]; options: Record<string, unknown> };

const run = async () => 0;
const COMMANDS: readonly Command<undefined>[] = [
  defineCommand<undefined>({ name: 'start', role: true, description: 'every role', run }),
  defineCommand<undefined>({ name: 'verify', description: 'compare', run }),
  defineCommand<undefined>({
    name: 'history',
    args: ['<wallet>', '[<limit>]'],
    description: 'print the events',
    run,
  }),
  defineCommand({
    name: 'settle',
    args: ['<wallet>', '<withdrawal>', 'paid|not-paid'],
    options: {
      by: { type: 'string', value: 'name', description: 'the operator who settles it' },
      force: { type: 'boolean', description: 'even while a payout may be in flight' },
    },
    description: 'end a withdrawal',
    run: async (_context: undefined, { options }) => {
      // Typed: `by` is a string, `force` a boolean.
      const by: string | undefined = options.by;
      const force: boolean | undefined = options.force;
      return by === 'alice' && force ? 7 : 0;
    },
  }),
];
const PROGRAM = { name: 'cli', footer: 'See README.' };

const parse = (...argv: string[]) => parseCommandLine(COMMANDS, argv, PROGRAM);

function accepted(t: Test, argv: string[]): Seen | undefined {
  const parsed = parse(...argv);
  if (parsed.kind !== 'run') {
    t.fail(`${argv.join(' ')}: ${parsed.kind}: ${parsed.text}`);
    return undefined;
  }
  return { name: parsed.command.name, ...parsed.input };
}

t.test('accepted command lines', async (t) => {
  t.same(accepted(t, []), { name: 'start', args: [], options: {} }, 'no command: start');
  t.same(accepted(t, ['verify']), { name: 'verify', args: [], options: {} });
  t.same(accepted(t, ['history', 'w1']), { name: 'history', args: ['w1'], options: {} });
  t.same(accepted(t, ['history', 'w1', '5']), { name: 'history', args: ['w1', '5'], options: {} });
  t.same(accepted(t, ['settle', 'w', 'd', 'paid', '--by', 'alice', '--force']), {
    name: 'settle',
    args: ['w', 'd', 'paid'],
    options: { by: 'alice', force: true },
  });
  t.same(
    accepted(t, ['settle', '--by=bob', 'w', 'd', 'not-paid']),
    { name: 'settle', args: ['w', 'd', 'not-paid'], options: { by: 'bob' } },
    'options anywhere, --name=value too',
  );
  t.same(
    accepted(t, ['history', '--', '-w1']),
    { name: 'history', args: ['-w1'], options: {} },
    'after --, everything is an argument',
  );
  const settle = parse('settle', 'w', 'd', 'paid', '--by', 'alice', '--force');
  t.equal(settle.kind === 'run' && (await settle.command.run(undefined, settle.input)), 7);
});

t.test('usage errors: one line saying what is wrong, then the usage', async (t) => {
  const cases: [string[], string][] = [
    [['verify', '--bogus'], "verify: unknown option '--bogus'"],
    [['verify', '-x'], "verify: unknown option '-x'"],
    [['verify', 'extra'], 'verify: unexpected argument "extra"'],
    [['history', 'w1', '5', 'x', 'y'], 'history: unexpected arguments "x" "y"'],
    [['history'], 'history: missing <wallet>'],
    [['settle', 'w'], 'settle: missing <withdrawal> paid|not-paid'],
    [['settle', 'w', 'd', 'paid', '--by'], "settle: option '--by <value>' argument missing"],
    [
      ['settle', 'w', 'd', 'paid', '--force=yes'],
      "settle: option '--force' does not take an argument",
    ],
    [
      ['settle', 'w', 'd', 'paid', '--by', 'a', '--by', 'b'],
      'settle: option --by is given more than once',
    ],
  ];
  for (const [argv, message] of cases) {
    const parsed = parse(...argv);
    t.equal(parsed.kind, 'usage-error', argv.join(' '));
    const [first, second, ...rest] = (parsed as { text: string }).text.split('\n');
    t.equal(first, message);
    t.match(second, new RegExp(`^usage: cli ${argv[0]}`), 'the command usage');
    t.same(rest, [], 'nothing more');
  }
  const settle = parse('settle', 'w', 'd', 'paid', '--bogus');
  t.equal(
    (settle as { text: string }).text.split('\n')[1],
    'usage: cli settle <wallet> <withdrawal> paid|not-paid [--by <name>] [--force]',
  );
});

t.test('an unknown command: the whole usage', async (t) => {
  const parsed = parse('nope');
  t.equal(parsed.kind, 'usage-error');
  t.match((parsed as { text: string }).text, /^Unknown command "nope"\.\n\nUsage: cli <command>/);
});

t.test('help: the whole usage, or one command', async (t) => {
  for (const argv of [['help'], ['--help'], ['-h']]) {
    const parsed = parse(...argv);
    t.equal(parsed.kind, 'help');
    t.equal((parsed as { text: string }).text, formatUsage(COMMANDS, PROGRAM));
  }
  const one = parse('settle', '--help');
  t.equal(one.kind, 'help');
  t.equal(
    (one as { text: string }).text,
    [
      'usage: cli settle <wallet> <withdrawal> paid|not-paid [--by <name>] [--force]',
      '',
      'end a withdrawal',
      '    --by <name>        the operator who settles it',
      '    --force            even while a payout may be in flight',
    ].join('\n'),
  );
});

t.test('the usage lists every command from the table, roles first', async (t) => {
  t.equal(
    formatUsage(COMMANDS, PROGRAM),
    [
      'Usage: cli <command> [arguments] [options]',
      '',
      'Roles (each runs until stopped):',
      '  start                every role',
      '',
      'Tools:',
      '  verify               compare',
      '  history <wallet> [<limit>]',
      '                       print the events',
      '  settle <wallet> <withdrawal> paid|not-paid',
      '                       end a withdrawal',
      '    --by <name>        the operator who settles it',
      '    --force            even while a payout may be in flight',
      '',
      'cli <command> --help describes one command.',
      'See README.',
    ].join('\n'),
  );
});
