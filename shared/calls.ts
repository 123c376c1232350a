// The arguments of every call a window may make (the API and the host calls), checked
// by the one dispatch (node/studio/dispatch.ts) behind both adapters, Electron IPC and
// the browser-mode WebSocket. An unknown method, too many arguments, or a missing,
// extra or mistyped field gives one issue per field; nothing reaches the backend before.
// Types and pure functions only.

import { DATASET_IMAGES_SCHEMA, MAX_PATH_LENGTH, PREDICT_SCHEMA, REQUEST_SCHEMA, RUN_ID_PATTERN, STUDIO_METHODS, SUBMIT_OPTIONS_SCHEMA, type StudioMethod } from './api.js';
import type { ValidationIssue } from './config.js';
import { HOST_METHODS, SETTINGS_FIELDS, type HostMethod } from './host.js';
import { checkValue, preview, type Field } from './schema.js';

export type CallName = StudioMethod | HostMethod;

/**
 * One argument: its schema, the prefix of the field names its issues carry ('' for a
 * request, whose fields the forms name as they are), and what to call it as a whole.
 */
interface Argument {
  name: string;
  label: string;
  schema: Field;
}

const RUN_ID: Argument = { name: 'id', label: 'id', schema: { type: 'string', pattern: RUN_ID_PATTERN, patternHint: 'a run id (letters, digits, _ and -)' } };
const OPTIONS: Argument = { name: '', label: 'options', schema: { ...SUBMIT_OPTIONS_SCHEMA, optional: true } };
const PATH: Argument = { name: 'path', label: 'path', schema: { type: 'string', nonEmpty: true, maxLength: MAX_PATH_LENGTH } };

const OPEN_DIALOG: Argument = {
  name: '',
  label: 'options',
  schema: {
    type: 'object',
    fields: {
      title: { type: 'string', maxLength: 200, optional: true },
      pick: { type: 'string', oneOf: ['file', 'folder', 'file-or-folder'] },
      filters: {
        type: 'array',
        maxItems: 16,
        items: { type: 'object', fields: { name: { type: 'string', maxLength: 100 }, extensions: { type: 'array', items: { type: 'string', maxLength: 16 }, maxItems: 32 } } },
        optional: true,
      },
      remember: { type: 'string', oneOf: ['datasets', 'models', 'exports'], optional: true },
    },
  },
};

/** Each call's arguments, in order; trailing optional ones may be left out. */
export const CALL_ARGUMENTS: Readonly<Record<CallName, readonly Argument[]>> = {
  submit: [{ name: '', label: 'request', schema: REQUEST_SCHEMA }, OPTIONS],
  list: [],
  get: [RUN_ID],
  cancel: [RUN_ID],
  resume: [RUN_ID, OPTIONS],
  events: [RUN_ID],
  inspect: [PATH, { name: '', label: 'options', schema: { type: 'object', fields: { samples: { type: 'boolean', optional: true } }, optional: true } }],
  backends: [],
  project: [],
  predict: [{ name: '', label: 'request', schema: PREDICT_SCHEMA }],
  datasetImages: [{ name: '', label: 'request', schema: DATASET_IMAGES_SCHEMA }],
  openDialog: [OPEN_DIALOG],
  reveal: [PATH],
  getSettings: [],
  setSettings: [{ name: 'settings', label: 'settings', schema: { type: 'object', fields: SETTINGS_FIELDS } }],
};

export function isCallName(method: unknown): method is CallName {
  return typeof method === 'string' && ((STUDIO_METHODS as readonly string[]).includes(method) || (HOST_METHODS as readonly string[]).includes(method));
}

export function isStudioMethod(method: CallName): method is StudioMethod {
  return (STUDIO_METHODS as readonly string[]).includes(method);
}

/** Every problem of a call: its method, its number of arguments, each argument's fields. */
export function validateCall(method: unknown, args: unknown): ValidationIssue[] {
  if (!isCallName(method)) return [{ field: 'method', message: `unknown method ${preview(method)}` }];
  if (!Array.isArray(args)) return [{ field: 'arguments', message: `must be a list, got ${preview(args)}` }];
  const expected = CALL_ARGUMENTS[method];
  if (args.length > expected.length) {
    return [{ field: 'arguments', message: `${method} takes ${expected.length === 0 ? 'no arguments' : `at most ${expected.length}`}, got ${args.length}` }];
  }
  const issues: ValidationIssue[] = [];
  expected.forEach((argument, i) => {
    const value = args[i];
    if (value === undefined) {
      if (!argument.schema.optional) issues.push({ field: argument.label, message: 'is required' });
      return;
    }
    issues.push(...checkValue(argument.schema, value, argument.name, argument.label));
  });
  return issues;
}
