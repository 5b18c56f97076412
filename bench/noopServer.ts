// The HTTP ceiling: a Fastify server in a process of its own (as the api role is) whose POST parses
// the JSON body like a deposit and answers a small JSON without any I/O. Prints
// `noop listening at <url>` when ready; exits on SIGTERM.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/noop', async (request) => ({ ok: true, received: request.body }));
app.get('/noop', async () => ({ ok: true }));

const stop = () => app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

const url = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`noop listening at ${url}`);
