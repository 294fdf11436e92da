import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApi } from './api';
import { App } from './app';
import { ApiContext } from './hooks';
import './styles.css';

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root');

const api = createApi();
void api.session.load();

createRoot(container).render(
  <StrictMode>
    <ApiContext.Provider value={api}>
      <App />
    </ApiContext.Provider>
  </StrictMode>,
);
