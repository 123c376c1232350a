// The structural check of everything that crosses a boundary (IPC, WebSocket, CLI,
// settings on disk): plain-data schemas and one checker. Unknown, missing, extra or
// mistyped fields give one issue each, named by the field's dotted path; echoed values
// are cut short. Range rules that need several fields stay in the validators of
// config.ts / api.ts, which run once the shape is right. Types and pure functions only.

import type { ValidationIssue } from './config.js';

export type Schema =
  /** `noun` names what a `oneOf` value is, for the message ("unknown backend …"). */
  | { type: 'string'; nonEmpty?: boolean; maxLength?: number; oneOf?: readonly string[]; noun?: string; pattern?: RegExp; patternHint?: string }
  | { type: 'number'; integer?: boolean; min?: number; max?: number }
  | { type: 'boolean' }
  | { type: 'array'; items: Schema; minItems?: number; maxItems: number }
  | ObjectSchema
  /** An object with any of `keys` (or any key up to `maxKeys`), every value of one schema. */
  | { type: 'record'; values: Schema; keys?: readonly string[]; maxKeys: number }
  /** The first option that fits; `hint` says what is expected when none does. */
  | { type: 'either'; options: readonly Schema[]; hint: string }
  /** An object whose `tag` field picks its schema. */
  | { type: 'tagged'; tag: string; variants: Readonly<Record<string, ObjectSchema>> };

export type Field = Schema & { optional?: boolean };
export interface ObjectSchema {
  type: 'object';
  fields: Readonly<Record<string, Field>>;
}

/** Longest value or key echoed back in a message. */
export const MAX_ECHO = 60;
/** Issues reported for one value at most (a 10,000-entry list of bad numbers gives a few, not all). */
export const MAX_ISSUES = 20;

/** A value as a message shows it: JSON, cut to MAX_ECHO characters. */
export function preview(value: unknown, max = MAX_ECHO): string {
  let text: string;
  try {
    text = value === undefined ? 'undefined' : typeof value === 'bigint' ? `${value}n` : JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? 'a list' : typeof value;
  }
  return truncate(text, max);
}

export function truncate(text: string, max: number): string {
  return text.length > max ? text.slice(0, Math.max(0, max - 1)) + '…' : text;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const own = (value: Record<string, unknown>, key: string) => Object.prototype.hasOwnProperty.call(value, key);

function join(path: string, key: string): string {
  const safeKey = truncate(key, MAX_ECHO);
  return path ? `${path}.${safeKey}` : safeKey;
}

function describe(schema: Schema): string {
  switch (schema.type) {
    case 'string':
      return schema.oneOf ? `one of ${schema.oneOf.join(', ')}` : 'a string';
    case 'number':
      return schema.integer ? 'an integer' : 'a number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
    case 'tagged':
      return 'an object';
    case 'either':
      return schema.hint;
  }
}

/**
 * Every problem of `value` against `schema` (at most MAX_ISSUES). `path` prefixes the
 * fields' names ('' for a request, whose fields the forms name as they are); `label`
 * names the value itself when it is wrong as a whole.
 */
export function checkValue(schema: Schema, value: unknown, path = '', label = path || 'value'): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  visit(schema, value, path, issues, label);
  return issues.slice(0, MAX_ISSUES);
}

function visit(schema: Schema, value: unknown, path: string, issues: ValidationIssue[], label = path || 'value'): void {
  if (issues.length >= MAX_ISSUES) return;
  const field = path || label;
  const wrongType = () => issues.push({ field, message: `must be ${describe(schema)}, got ${preview(value)}` });
  switch (schema.type) {
    case 'string': {
      if (typeof value !== 'string') return void wrongType();
      if (schema.oneOf && !schema.oneOf.includes(value)) {
        if (!schema.noun) return void wrongType();
        return void issues.push({ field, message: `unknown ${schema.noun} ${preview(value)}; choose one of ${schema.oneOf.join(', ')}` });
      }
      if (schema.nonEmpty && value.trim().length === 0) return void issues.push({ field, message: 'is required' });
      if (schema.maxLength !== undefined && value.length > schema.maxLength) {
        return void issues.push({ field, message: `is ${value.length} characters long; at most ${schema.maxLength} are allowed` });
      }
      if (schema.pattern && !schema.pattern.test(value)) {
        return void issues.push({ field, message: `must be ${schema.patternHint ?? `like ${schema.pattern.source}`}, got ${preview(value)}` });
      }
      return;
    }
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return void wrongType();
      if (schema.integer && !Number.isInteger(value)) return void wrongType();
      if (schema.min !== undefined && value < schema.min) return void issues.push({ field, message: `must be at least ${schema.min}, got ${preview(value)}` });
      if (schema.max !== undefined && value > schema.max) return void issues.push({ field, message: `must be at most ${schema.max}, got ${preview(value)}` });
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') wrongType();
      return;
    case 'array': {
      if (!Array.isArray(value)) return void wrongType();
      if (value.length > schema.maxItems) return void issues.push({ field, message: `has ${value.length} entries; at most ${schema.maxItems} are allowed` });
      if (schema.minItems !== undefined && value.length < schema.minItems) {
        return void issues.push({ field, message: `needs at least ${schema.minItems} entr${schema.minItems === 1 ? 'y' : 'ies'}` });
      }
      value.forEach((item, i) => visit(schema.items, item, `${field}[${i}]`, issues));
      return;
    }
    case 'object': {
      if (!isPlainObject(value)) return void wrongType();
      for (const [key, fieldSchema] of Object.entries(schema.fields)) {
        const present = own(value, key) && value[key] !== undefined;
        if (!present) {
          if (!fieldSchema.optional) issues.push({ field: join(path, key), message: 'is required' });
          continue;
        }
        visit(fieldSchema, value[key], join(path, key), issues);
      }
      const known = Object.keys(schema.fields);
      for (const key of Object.keys(value)) {
        if (own(schema.fields, key) || value[key] === undefined) continue;
        issues.push({ field: join(path, key), message: `is not a known field (known: ${known.join(', ')})` });
        if (issues.length >= MAX_ISSUES) return;
      }
      return;
    }
    case 'record': {
      if (!isPlainObject(value)) return void wrongType();
      const keys = Object.keys(value);
      if (keys.length > schema.maxKeys) return void issues.push({ field, message: `has ${keys.length} entries; at most ${schema.maxKeys} are allowed` });
      for (const key of keys) {
        if (schema.keys && !schema.keys.includes(key)) {
          issues.push({ field: join(path, key), message: `is not a known field (known: ${schema.keys.join(', ')})` });
          continue;
        }
        visit(schema.values, value[key], join(path, key), issues);
      }
      return;
    }
    case 'either': {
      for (const option of schema.options) if (checkValue(option, value, path).length === 0) return;
      return void wrongType();
    }
    case 'tagged': {
      if (!isPlainObject(value)) return void wrongType();
      const tag = value[schema.tag];
      const variants = Object.keys(schema.variants);
      const variant = typeof tag === 'string' && own(schema.variants, tag) ? schema.variants[tag] : undefined;
      if (!variant) {
        const message = tag === undefined ? `is required (one of ${variants.join(', ')})` : `must be one of ${variants.join(', ')}, got ${preview(tag)}`;
        return void issues.push({ field: join(path, schema.tag), message });
      }
      visit(variant, value, path, issues);
      return;
    }
  }
}
