// The CLI as an operator runs it: unknown options and extra arguments are a usage error (exit 2,
// one line and the command's usage on stderr), found before any database is opened.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { runCli } from '../support/cli.ts';

// A database nobody listens on: a command that got past its usage check would fail differently.
const env = { DATABASE_URL: 'postgres://nobody:none@127.0.0.1:9/none' };

t.test('unknown options and extra arguments: exit 2 with the usage', async (t) => {
  const wallet = randomUUID();
  const cases: [string[], RegExp][] = [
    [['verify', '--bogus'], /^verify: unknown option '--bogus'\nusage: npm run cli -- verify\n$/],
    [
      ['rebuild', 'extra'],
      /^rebuild: unexpected argument "extra"\nusage: npm run cli -- rebuild\n$/,
    ],
    [
      ['history', wallet, 'extra'],
      /^history: unexpected argument "extra"\nusage: npm run cli -- history <wallet>\n$/,
    ],
    [['start', '--port', '3000'], /^start: unknown option '--port'\n/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(args, env)));
  for (const [index, [args, stderr]] of cases.entries()) {
    const result = results[index] as Awaited<ReturnType<typeof runCli>>;
    t.equal(result.code, 2, `${args.join(' ')}: exit 2`);
    t.match(result.stderr, stderr);
    t.equal(result.stdout, '', 'nothing on stdout');
  }
});

t.test('help: exit 0, every command of the table', async (t) => {
  const result = await runCli(['--help'], env);
  t.equal(result.code, 0);
  for (const command of [
    'start',
    'serve',
    'project',
    'schedule',
    'transaction-service',
    'rebuild',
    'verify',
    'history <wallet>',
    'settle <wallet> <withdrawal> paid|not-paid',
  ]) {
    const escaped = command.replace(/[|<>]/g, (c) => `\\${c}`);
    t.match(result.stdout, new RegExp(`\\n  ${escaped}\\s`), command);
  }
});
