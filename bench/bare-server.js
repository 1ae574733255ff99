'use strict';
// The baseline: bare Fastify that parses the JSON body and answers 202, nothing else.
const Fastify = require('fastify');

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.post('/webhooks/port', async (request, reply) => reply.code(202).send({ eventId: 'x', duplicate: false }));
app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).then(() => process.send?.('ready'));
