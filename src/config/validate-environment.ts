import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, ValidationError, validateSync } from 'class-validator';
import { EnvironmentVariables } from './environment-variables';

/** Thrown at boot; its message is the one line an operator needs. */
export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigurationError';
  }
}

export function validateEnvironment(env: Record<string, string | undefined>): EnvironmentVariables {
  const candidate = plainToInstance(EnvironmentVariables, pick(env, variableNames()));
  const errors = validateSync(candidate, { skipMissingProperties: false, forbidUnknownValues: false, stopAtFirstError: true });
  if (errors.length > 0) throw new ConfigurationError(errors.flatMap(describe));
  return candidate;
}

function describe(error: ValidationError): string[] {
  // Never echo the value: secrets are validated here too.
  return Object.values(error.constraints ?? {}).map((message) =>
    message.startsWith(error.property) ? message : `${error.property}: ${message}`,
  );
}

/** Our variables only, so the rest of the environment is not carried around by accident. */
function variableNames(): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(EnvironmentVariables, '', true, false);
  return [...new Set(metadata.map((entry) => entry.propertyName))];
}

/** A variable set to the empty string (as `.env.example` leaves most) counts as unset. */
function pick(source: object, keys: string[]): Record<string, unknown> {
  const record = source as Record<string, unknown>;
  return Object.fromEntries(keys.filter((key) => record[key] !== undefined && record[key] !== '').map((key) => [key, record[key]]));
}
