/** React's way to the app's {@link Api}: context, session, and a query hook. */
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import type { Api, SessionState } from './api';
import type { TypedDocumentString } from './gql/graphql';

export const ApiContext = createContext<Api | null>(null);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi() outside <ApiContext.Provider>');
  return api;
}

export function useSession(): SessionState {
  const { session } = useApi();
  return useSyncExternalStore(session.subscribe, session.getState);
}

export interface QueryState<TResult> {
  data: TResult | undefined;
  error: unknown;
  loading: boolean;
  /** Runs the query again (keeps the current data until the answer). */
  reload: () => void;
}

/** Runs `document` when mounted and whenever `variables` change (compared as JSON). */
export function useQuery<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
): QueryState<TResult> {
  const { request } = useApi();
  const [data, setData] = useState<TResult>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  // Re-run on a change of value, not of identity: callers pass object literals.
  const key = JSON.stringify(variables);
  const latest = useRef(variables);
  latest.current = variables;

  useEffect(() => {
    let current = true;
    setLoading(true);
    request(document, latest.current).then(
      (result) => {
        if (!current) return;
        setData(result);
        setError(undefined);
        setLoading(false);
      },
      (failure: unknown) => {
        if (!current) return;
        setError(failure);
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [request, document, key, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, loading, reload };
}
