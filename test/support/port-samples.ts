import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The recorded Port payloads live outside the repo, in the shared folder beside it. */
const SAMPLES_DIR = path.resolve(__dirname, '../../../shared/port-samples');

export function readSampleText(name: string): string {
  return readFileSync(path.join(SAMPLES_DIR, name), 'utf8');
}

export function readSampleJson(name: string): unknown {
  return JSON.parse(readSampleText(name));
}

/** A `.json` sample parsed; any other sample (the signature test vector) as text. */
export function readSample(name: string): unknown {
  return name.endsWith('.json') ? readSampleJson(name) : readSampleText(name);
}
