'use strict';
// A Slack stand-in in its own process: answers 200 "ok" and measures, per message, the time
// since the event was sent (the message text is the send time, from the event's trigger.at).
const { createServer } = require('node:http');

const latencies = [];
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const now = Date.now();
    try {
      const sentAt = Date.parse(JSON.parse(Buffer.concat(chunks).toString()).text);
      if (Number.isFinite(sentAt)) latencies.push(now - sentAt);
    } catch {
      /* not one of ours */
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
server.keepAliveTimeout = 60_000;

process.on('message', (message) => {
  if (message === 'take') {
    process.send({ latencies: latencies.splice(0) });
  }
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
