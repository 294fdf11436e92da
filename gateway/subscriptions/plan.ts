/**
 * Planning and executing a subscription over the federated graph with Apollo's own planner.
 *
 * `@apollo/query-planner` plans a subscription as `{ kind: 'Subscription', primary, rest }`:
 * `primary` fetches the subscription field from the `events` subgraph (its `__typename` and
 * keys), `rest` fetches everything else from the other subgraphs. `executeQueryPlan` (exported by
 * `@apollo/gateway`) refuses a `Subscription` node, so each event runs the plan
 * `Sequence[primary, rest]`, with the `events` data source answering `primary` from the event: it
 * executes the primary fetch's own operation against the events subgraph schema with the event as
 * root value, so aliases, fragments and `__typename` come out exactly as the planner expects.
 * A failing subgraph in `rest` gives partial data and errors, as for a query.
 *
 * This relies on behaviour, not on a documented contract, of @apollo/gateway,
 * @apollo/query-planner and @apollo/federation-internals, all pinned to 2.14.4 in package.json;
 * gateway/subscriptions/plan.test.ts pins the behaviour (plan shape, aliases, variables,
 * fragments, subgraph failure). See docs/subscriptions-spike.md.
 */
import {
  buildOperationContext,
  executeQueryPlan,
  type GraphQLDataSource,
  type ServiceMap,
} from '@apollo/gateway';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import {
  execute,
  getOperationAST,
  GraphQLError,
  Kind,
  parse,
  specifiedRules,
  validate,
  visit,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import { getArgumentValues, getVariableValues } from 'graphql/execution/values';
import { LRUCache } from 'lru-cache';
import { EVENTS_SUBGRAPH, eventsSubgraphSchema } from '../../events/subgraph';
import type { ErrorCode } from '../../contracts/errors';
import type { Logger } from '../../lib/logger';
import { graphQLError } from '../errors';
import type { GatewayContext } from '../subgraph-client';
import { LIVE_FIELDS, type LiveField } from './fields';

type OperationContext = ReturnType<typeof buildOperationContext>;

/** One subscription operation, planned: shared by every subscriber that sends the same text. */
export interface CompiledSubscription {
  query: string;
  operationName: string | undefined;
  document: DocumentNode;
  field: LiveField;
  /** The root field as written (for its arguments). */
  fieldNode: FieldNode;
  operation: OperationDefinitionNode;
  /** `Sequence[primary, rest]`, executable by `executeQueryPlan`. */
  perEvent: QueryPlan;
  /**
   * True when the event alone answers the selection (no `rest`: no subgraph request), so the
   * result is the same whoever asks.
   */
  eventOnly: boolean;
  operationContext: OperationContext;
}

/** What `executeQueryPlan` passes to data sources as `context`. */
interface ExecutionContext extends GatewayContext {
  eventRoot: Record<string, unknown>;
}

/** What {@link SubscriptionPlanner} plans against and executes with. */
export interface SubscriptionPlannerOptions {
  supergraphSdl: string;
  /** Data sources of the other subgraphs, by name (the gateway's own). */
  dataSources: Record<string, GraphQLDataSource>;
  /** The gateway's extra validation rules (depth and field limits). */
  validationRules: readonly ValidationRule[];
  logger: Logger;
  /** Compiled operations kept, least recently used dropped. @default 1000 */
  cacheSize?: number;
}

/**
 * Compiles subscription operations (parse, validate, plan; cached) and executes a compiled one
 * for an event: see the module's comment.
 */
export class SubscriptionPlanner {
  readonly apiSchema: GraphQLSchema;
  private readonly api: Schema;
  private readonly supergraphSchema: GraphQLSchema;
  private readonly planner: QueryPlanner;
  private readonly serviceMap: ServiceMap;
  /** Compiled operations and refusals by operation name and text. */
  private readonly cache: LRUCache<string, CompiledSubscription | readonly GraphQLError[]>;
  private readonly rules: readonly ValidationRule[];
  private readonly logger: Logger;

  constructor(options: SubscriptionPlannerOptions) {
    const supergraph = Supergraph.build(options.supergraphSdl);
    this.api = supergraph.apiSchema();
    this.apiSchema = this.api.toGraphQLJSSchema();
    this.supergraphSchema = supergraph.schema.toGraphQLJSSchema();
    this.planner = new QueryPlanner(supergraph);
    this.serviceMap = { [EVENTS_SUBGRAPH]: eventsDataSource() };
    for (const [name, source] of Object.entries(options.dataSources)) {
      this.serviceMap[name] = namingFailures(name, source);
    }
    this.cache = new LRUCache({ max: options.cacheSize ?? 1000 });
    this.rules = [...specifiedRules, ...options.validationRules];
    this.logger = options.logger;
  }

  /**
   * Parses, validates and plans a subscription operation, or returns the errors a client should
   * see (`GRAPHQL_PARSE_FAILED`, `GRAPHQL_VALIDATION_FAILED`, `BAD_REQUEST`).
   */
  compile(
    query: string,
    operationName: string | undefined,
  ): CompiledSubscription | readonly GraphQLError[] {
    const cacheKey = `${operationName ?? ''}\u0000${query}`;
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return cached;
    const compiled = this.compileUncached(query, operationName);
    this.cache.set(cacheKey, compiled);
    return compiled;
  }

  /**
   * The root field's argument values for these variables, or the errors of bad variables.
   */
  argumentsOf(
    compiled: CompiledSubscription,
    variables: Record<string, unknown> | null | undefined,
  ):
    | { args: Record<string, unknown>; variables: Record<string, unknown> }
    | readonly GraphQLError[] {
    const coerced = getVariableValues(
      this.apiSchema,
      compiled.operation.variableDefinitions ?? [],
      variables ?? {},
      { maxErrors: 10 },
    );
    if (coerced.errors) return coerced.errors.map((e) => withCode(e, 'BAD_USER_INPUT'));
    const fieldDef = this.apiSchema.getSubscriptionType()?.getFields()[compiled.field.name];
    if (!fieldDef) throw new Error(`No subscription field ${compiled.field.name}`);
    try {
      return {
        args: getArgumentValues(fieldDef, compiled.fieldNode, coerced.coerced),
        variables: coerced.coerced,
      };
    } catch (error) {
      if (error instanceof GraphQLError) return [withCode(error, 'BAD_USER_INPUT')];
      throw error;
    }
  }

  /**
   * Resolves one event for one subscription: the event answers the subscription field, the
   * subgraphs the rest, with `context` (the subscriber's signed internal token).
   */
  async execute(
    compiled: CompiledSubscription,
    fieldValue: Record<string, unknown>,
    variables: Record<string, unknown>,
    context: GatewayContext,
  ): Promise<ExecutionResult> {
    const executionContext: ExecutionContext = {
      ...context,
      eventRoot: { [compiled.field.name]: fieldValue },
    };
    // Only these members of the request context are read (see docs/subscriptions-spike.md).
    const requestContext = {
      request: { query: compiled.query, variables, operationName: compiled.operationName },
      context: executionContext,
      logger: this.logger,
      metrics: {},
    };
    const result = await executeQueryPlan(
      compiled.perEvent,
      this.serviceMap,
      requestContext as unknown as Parameters<typeof executeQueryPlan>[2],
      compiled.operationContext,
      this.supergraphSchema,
      this.api,
    );
    return {
      ...(result.data !== undefined ? { data: result.data } : {}),
      ...(result.errors?.length ? { errors: result.errors } : {}),
    };
  }

  private compileUncached(
    query: string,
    operationName: string | undefined,
  ): CompiledSubscription | readonly GraphQLError[] {
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      if (error instanceof GraphQLError) return [withCode(error, 'GRAPHQL_PARSE_FAILED')];
      throw error;
    }
    const errors = validate(this.apiSchema, document, this.rules);
    if (errors.length > 0) return errors.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
    const operation = getOperationAST(document, operationName);
    if (!operation) {
      return [
        badRequest(
          operationName ? `Unknown operation ${operationName}` : 'Name the operation to run',
        ),
      ];
    }
    if (operation.operation !== 'subscription') {
      return [badRequest(`${operation.operation} is not a subscription`)];
    }
    if (usesIncrementalDelivery(document)) {
      return [badRequest('@defer and @stream are not supported in subscriptions')];
    }
    // Validation guarantees exactly one root field (SingleFieldSubscriptionsRule).
    const fieldNode = rootField(document, operation);
    const field = fieldNode ? LIVE_FIELDS.get(fieldNode.name.value) : undefined;
    if (!fieldNode || !field) {
      return [badRequest('The subscription has no live field the gateway serves')];
    }
    const plan = this.planner.buildQueryPlan(
      operationFromDocument(this.api, document, {
        ...(operationName ? { operationName } : {}),
      }),
    );
    const node = plan.node;
    if (node?.kind !== 'Subscription') {
      throw new Error(`Expected a subscription plan for ${field.name}, got ${node?.kind}`);
    }
    if (node.primary.serviceName !== EVENTS_SUBGRAPH) {
      throw new Error(`The primary fetch of ${field.name} goes to ${node.primary.serviceName}`);
    }
    const sequence: PlanNode = node.rest
      ? { kind: 'Sequence', nodes: [node.primary, node.rest] }
      : node.primary;
    return {
      query,
      operationName,
      document,
      field,
      fieldNode,
      operation,
      perEvent: { kind: 'QueryPlan', node: sequence },
      eventOnly: !node.rest,
      operationContext: buildOperationContext({
        schema: this.apiSchema,
        operationDocument: document,
        ...(operationName ? { operationName } : {}),
      }),
    };
  }
}

/**
 * A subgraph that cannot be reached makes its data source throw a plain error (ECONNREFUSED...),
 * which `executeQueryPlan` passes on as is; this names the subgraph, as an error it answered with
 * would be.
 */
function namingFailures(name: string, source: GraphQLDataSource): GraphQLDataSource {
  return {
    process: (options) =>
      source.process(options).catch((error: unknown) => {
        if (error instanceof GraphQLError) throw error;
        const cause = error instanceof Error ? error : new Error(String(error));
        throw graphQLError(
          'DOWNSTREAM_SERVICE_ERROR',
          `Subgraph ${name} could not be reached: ${cause.message}`,
          { serviceName: name },
          { originalError: cause },
        );
      }),
  };
}

/** Parsed primary fetches the `events` data source keeps (it parses each on every event else). */
const PRIMARY_DOCUMENTS = 10_000;

/** The data source of the `events` subgraph: answers the primary fetch from the event. */
function eventsDataSource(): GraphQLDataSource {
  const schema = eventsSubgraphSchema();
  // One entry per distinct primary fetch, so about as many as the planner's cache holds.
  const documents = new LRUCache<string, DocumentNode>({ max: PRIMARY_DOCUMENTS });
  return {
    async process(options) {
      const query = options.request.query;
      if (query === undefined) throw new Error('The events subgraph got a request without query');
      let document = documents.get(query);
      if (!document) {
        document = parse(query);
        documents.set(query, document);
      }
      const context = options.context as Partial<ExecutionContext>;
      if (!context.eventRoot) {
        // Only subscriptions reach this subgraph (its entities are not resolvable).
        throw new Error('The events subgraph is answered from events only');
      }
      const result = await execute({
        schema,
        document,
        rootValue: context.eventRoot,
        variableValues: options.request.variables ?? {},
      });
      return result as Awaited<ReturnType<GraphQLDataSource['process']>>;
    },
  };
}

function rootField(
  document: DocumentNode,
  operation: OperationDefinitionNode,
): FieldNode | undefined {
  const fragments = new Map(
    document.definitions
      .filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  const find = (
    selections: OperationDefinitionNode['selectionSet']['selections'],
  ): FieldNode | undefined => {
    for (const selection of selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value !== '__typename') return selection;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const found = find(selection.selectionSet.selections);
        if (found) return found;
      } else {
        const fragment = fragments.get(selection.name.value);
        const found = fragment && find(fragment.selectionSet.selections);
        if (found) return found;
      }
    }
    return undefined;
  };
  return find(operation.selectionSet.selections);
}

function usesIncrementalDelivery(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Directive(node) {
      if (node.name.value === 'defer' || node.name.value === 'stream') found = true;
    },
  });
  return found;
}

function withCode(error: GraphQLError, code: ErrorCode): GraphQLError {
  return new GraphQLError(error.message, {
    ...(error.nodes ? { nodes: error.nodes } : {}),
    ...(error.source ? { source: error.source } : {}),
    ...(error.positions ? { positions: error.positions } : {}),
    // Errors that carry a code of their own (the depth and field limits) keep it.
    extensions: { code, ...error.extensions },
  });
}

function badRequest(message: string): GraphQLError {
  return graphQLError('BAD_REQUEST', message);
}
