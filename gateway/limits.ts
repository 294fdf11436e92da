/**
 * Query cost limits, as GraphQL validation rules for Apollo Server's `validationRules`: how deep
 * selections nest and how many fields an operation selects, both measured after fragments are
 * expanded. Apollo Server caches validated documents, so a repeated query pays for this once.
 *
 * The request body size is limited at HTTP (`maxBodyBytes` of lib/http-server.ts, 413).
 */
import {
  GraphQLError,
  Kind,
  type ASTNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import type { ErrorCode } from '../contracts/errors';

/** The registry's code of an operation nested deeper than the limit. */
export const QUERY_TOO_DEEP = 'QUERY_TOO_DEEP' satisfies ErrorCode;
/** The registry's code of an operation that selects more fields than the limit. */
export const QUERY_TOO_LARGE = 'QUERY_TOO_LARGE' satisfies ErrorCode;
/** The codes of {@link QueryLimitError}. */
export type QueryLimitCode = typeof QUERY_TOO_DEEP | typeof QUERY_TOO_LARGE;

/**
 * A limit was exceeded. Apollo Server rewrites every validation error's code to
 * `GRAPHQL_VALIDATION_FAILED`; the gateway's error formatter restores {@link code} from this class.
 */
export class QueryLimitError extends GraphQLError {
  constructor(
    message: string,
    readonly code: QueryLimitCode,
    node: ASTNode,
  ) {
    super(message, { nodes: node, extensions: { code } });
  }
}

/** Options of {@link depthLimitRule} and {@link fieldLimitRule}. */
export interface LimitRuleOptions {
  /**
   * Leave `__schema` and `__type` selections out of the count, so the introspection queries of
   * GraphiQL and Apollo Sandbox (about 13 levels of `ofType`) fit the default limits. They are
   * bounded by the schema, and introspection is off in production anyway.
   * @default true
   */
  ignoreIntrospection?: boolean;
}

interface Measure {
  depth: number;
  fields: number;
}

const INTROSPECTION_ROOTS = new Set(['__schema', '__type']);

/**
 * Measures selection sets of one document. Each fragment is measured once and memoised, so
 * fragments spread many times (`...A` in every field of `B`, `...B` in every field of `C`, ...)
 * cost linear time, not exponential. Cycles (refused by graphql's own NoFragmentCycles rule) count
 * as empty.
 */
function createMeasurer(context: ValidationContext, ignoreIntrospection: boolean) {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of context.getDocument().definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
  }
  const memo = new Map<string, Measure>();
  const visiting = new Set<string>();

  const measure = (selectionSet: SelectionSetNode): Measure => {
    let depth = 0;
    let fields = 0;
    for (const selection of selectionSet.selections) {
      let inner: Measure;
      if (selection.kind === Kind.FIELD) {
        if (ignoreIntrospection && INTROSPECTION_ROOTS.has(selection.name.value)) continue;
        inner = selection.selectionSet ? measure(selection.selectionSet) : { depth: 0, fields: 0 };
        depth = Math.max(depth, inner.depth + 1);
        fields += inner.fields + 1;
        continue;
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = measure(selection.selectionSet);
      } else {
        const name = selection.name.value;
        const cached = memo.get(name);
        const fragment = fragments.get(name);
        if (cached) inner = cached;
        else if (!fragment || visiting.has(name)) continue;
        else {
          visiting.add(name);
          inner = measure(fragment.selectionSet);
          visiting.delete(name);
          memo.set(name, inner);
        }
      }
      depth = Math.max(depth, inner.depth);
      fields += inner.fields;
    }
    return { depth, fields };
  };
  return measure;
}

/**
 * Refuses operations whose selections nest deeper than `maxDepth` (fragments followed).
 * `{ a { b } }` has depth 2. Error: `Query depth 14 exceeds the limit of 12`, code `QUERY_TOO_DEEP`.
 */
export function depthLimitRule(maxDepth: number, options: LimitRuleOptions = {}): ValidationRule {
  return (context) => {
    const measure = createMeasurer(context, options.ignoreIntrospection ?? true);
    return {
      OperationDefinition(node) {
        const { depth } = measure(node.selectionSet);
        if (depth > maxDepth) {
          context.reportError(
            new QueryLimitError(
              `Query depth ${depth} exceeds the limit of ${maxDepth}`,
              QUERY_TOO_DEEP,
              node,
            ),
          );
        }
      },
    };
  };
}

/**
 * Refuses operations that select more than `maxFields` fields, each alias counted, after every
 * fragment spread is expanded. Error code `QUERY_TOO_LARGE`.
 */
export function fieldLimitRule(maxFields: number, options: LimitRuleOptions = {}): ValidationRule {
  return (context) => {
    const measure = createMeasurer(context, options.ignoreIntrospection ?? true);
    return {
      OperationDefinition(node) {
        const { fields } = measure(node.selectionSet);
        if (fields > maxFields) {
          context.reportError(
            new QueryLimitError(
              `Query selects ${fields} fields (fragments expanded), more than the limit of ${maxFields}`,
              QUERY_TOO_LARGE,
              node,
            ),
          );
        }
      },
    };
  };
}
