import { Parser } from "@asyncapi/parser";
import { validate } from "@readme/openapi-parser";

export interface DocumentProblems {
  readonly errors: string[];
  readonly warnings: string[];
}

/** What @readme/openapi-parser finds wrong with an OpenAPI document (it is not modified). */
export async function openApiProblems(document: object): Promise<DocumentProblems> {
  const result = await validate(structuredClone(document) as Parameters<typeof validate>[0]);
  return {
    errors: result.valid ? [] : result.errors.map((error) => error.message),
    warnings: result.warnings.map((warning) => warning.message),
  };
}

// @asyncapi/parser's DiagnosticSeverity: 0 error, 1 warning, 2 information, 3 hint.
const ERROR = 0;
const WARNING = 1;

/** What @asyncapi/parser finds wrong with an AsyncAPI document: errors and warnings. */
export async function asyncApiProblems(document: object): Promise<DocumentProblems> {
  const diagnostics = await new Parser().validate(JSON.stringify(document));
  const describe = (d: (typeof diagnostics)[number]) =>
    `${d.code}: ${d.message} at ${d.path.join(".")}`;
  return {
    errors: diagnostics.filter((d) => d.severity === ERROR).map(describe),
    warnings: diagnostics.filter((d) => d.severity === WARNING).map(describe),
  };
}

/** A JSON document as tests read it: any member at any depth (the assertions check the values). */
// biome-ignore lint/suspicious/noExplicitAny: the documents are plain JSON, read loosely in assertions
export type Json = any;
