/**
 * The one ajv setup of the registry code: JSON Schema draft 2020-12 with the standard formats
 * (email, uuid, date-time, ...), as zod writes them; and ajv's errors as field issues.
 */
import Ajv2020, { type ErrorObject } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { FieldIssue } from '../validate';

/** A fresh ajv for draft 2020-12 with formats; unknown keywords are allowed (`strict: false`). */
export function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv;
}

/**
 * ajv's errors as dotted paths under `prefix`: `payload.email: must match format "email"`,
 * `payload.userId: is required`.
 */
export function ajvIssues(errors: ErrorObject[] | null | undefined, prefix: string): FieldIssue[] {
  return (errors ?? []).map((error) => {
    const segments = error.instancePath.split('/').slice(1).map(unescapePointer);
    const missing = (error.params as { missingProperty?: unknown }).missingProperty;
    if (error.keyword === 'required' && typeof missing === 'string')
      return { path: [prefix, ...segments, missing].join('.'), message: 'is required' };
    const extra = (error.params as { additionalProperty?: unknown }).additionalProperty;
    if (error.keyword === 'additionalProperties' && typeof extra === 'string')
      return { path: [prefix, ...segments, extra].join('.'), message: 'is not allowed' };
    return { path: [prefix, ...segments].join('.'), message: error.message ?? error.keyword };
  });
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
