'use strict';
// `npm run bench`: every benchmark, each reported as a ratio to a baseline measured in the same run.
// Not in the default list: api-cost (where one api process's CPU per webhook goes; BENCH_ONLY=api-cost)
// and worker-cost (one worker process's CPU per action job, draining a queue; BENCH_ONLY=worker-cost).
const sections = (process.env.BENCH_ONLY ?? 'ingest,evaluation,e2e,scaling').split(',');

async function main() {
  for (const name of sections) await require(`./${name}.bench.js`).run();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
