'use strict';
// Preloaded (`node -r`) into a ROLE=api service by api-cost.bench.js: BENCH_STUBS (comma list) turns
// parts of a webhook's handling into no-ops, so that the CPU they cost shows as a difference.
//   record: the event record and dedupe write (the event is still evaluated and its jobs queued)
//   intake: everything after validation (evaluation, record, jobs, log line): the answer is a 202
//   parse:  the validation and event id as well (the body is taken as it is)
const path = require('node:path');

const stubs = new Set((process.env.BENCH_STUBS ?? '').split(',').filter(Boolean));
const dist = (file) => require(path.join(__dirname, '../dist', file));

if (stubs.has('record')) dist('events/event-record.store.js').EventRecordStore.prototype.recordEvaluation = async () => true;
if (stubs.has('intake')) dist('ingest/event-intake.service.js').EventIntakeService.prototype.accept = async (event) => ({ eventId: event.id, duplicate: false });
if (stubs.has('parse')) {
  let serial = 0;
  dist('ingest/parse-port-event.pipe.js').ParsePortEventPipe.prototype.transform = (body) => ({ id: `evt_${(serial += 1)}`, body });
}
