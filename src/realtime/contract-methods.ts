import { OutputValidationError, ValidationError } from "../http/validation-error.js";
import type {
  Contract,
  ContractCallResult,
  ContractMethod,
  ContractMethodParams,
  MethodSchemas,
} from "../protocol/contract.js";
import { runReceivedSchema } from "../util/run-received-schema.js";
import { runSchema, type SchemaOutcome } from "../util/run-schema.js";
import type { StandardSchemaV1 } from "../util/standard-schema.js";
import type { ValidationIssue } from "../util/validation-issue.js";
import type { RealtimeContext } from "./realtime-context.js";

/** A method as the endpoint runs it (RealtimeMethod, which realtime-options.ts defines). */
type RunnableMethod = (params: unknown, ctx: RealtimeContext<object>) => unknown;

/**
 * The implementations of a contract's methods: one per method, each given the params
 * schema's output and returning what the result schema accepts.
 */
export type ContractMethods<C extends Contract, State extends object = Record<string, unknown>> = {
  readonly [M in ContractMethod<C>]: (
    params: ContractMethodParams<C, M>,
    ctx: RealtimeContext<State>,
  ) => ContractCallResult<C, M> | Promise<ContractCallResult<C, M>>;
};

/**
 * The endpoint's methods checked against its contract: each contract method implemented,
 * nothing implemented that the contract does not name (a TypeError says which), and each
 * wrapped to validate its params (a refusal is a ValidationError: an `invalid` reply) and,
 * when `validateOutput` is on, its result (a failure is an OutputValidationError: an
 * `internal` reply, logged).
 */
export function contractMethods(
  where: string,
  contract: Contract,
  implementations: ReadonlyMap<string, RunnableMethod>,
  validateOutput: boolean,
): Map<string, RunnableMethod> {
  const declared = contract.methods as Readonly<Record<string, MethodSchemas>>;
  for (const name of implementations.keys()) {
    if (!Object.hasOwn(declared, name)) {
      throw new TypeError(
        `${where}: methods.${name} is not in the contract; add it to the contract's methods (with its params and result schemas) or remove it`,
      );
    }
  }
  const checked = new Map<string, RunnableMethod>();
  for (const [name, schemas] of Object.entries(declared)) {
    const implementation = implementations.get(name);
    if (implementation === undefined) {
      throw new TypeError(
        `${where}: the contract's method "${name}" has no implementation in methods`,
      );
    }
    checked.set(
      name,
      validatedMethod(name, schemas, implementation, validateOutput ? schemas.result : undefined),
    );
  }
  return checked;
}

function validatedMethod(
  name: string,
  { params: paramsSchema }: MethodSchemas,
  implementation: RunnableMethod,
  resultSchema: StandardSchemaV1 | undefined,
): RunnableMethod {
  if (paramsSchema === undefined && resultSchema === undefined) return implementation;
  const paramsTarget = `params of ${JSON.stringify(name)}`;
  const resultTarget = `result of ${JSON.stringify(name)}`;
  return async (params, ctx) => {
    const input =
      paramsSchema === undefined
        ? params
        : outputOf(await runReceivedSchema(paramsSchema, params), (issues, total) => {
            throw new ValidationError(paramsTarget, issues, total);
          });
    const result = await implementation(input, ctx);
    if (resultSchema !== undefined) {
      // Checked, never transformed: the caller gets what the method returned.
      outputOf(await runSchema(resultSchema, result), (issues, total) => {
        throw new OutputValidationError(resultTarget, issues, total);
      });
    }
    return result;
  };
}

function outputOf(
  outcome: SchemaOutcome<unknown>,
  refuse: (issues: readonly ValidationIssue[], total: number) => never,
): unknown {
  if (outcome.ok) return outcome.value;
  return refuse(outcome.issues, outcome.total);
}
