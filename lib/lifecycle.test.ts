import { Lifecycle } from './lifecycle';

describe('Lifecycle', () => {
  it('stops the parts in reverse order, each once', async () => {
    const life = new Lifecycle();
    const stopped: string[] = [];
    life.defer('a', () => stopped.push('a'));
    const b = life.use('b', { name: 'b' }, async (value) => stopped.push(value.name));
    life.defer('c', async () => stopped.push('c'));
    expect(b).toEqual({ name: 'b' });
    expect(life.size).toBe(3);
    await life.stop();
    await life.stop();
    expect(stopped).toEqual(['c', 'b', 'a']);
    expect(life.size).toBe(0);
  });

  it('runs every disposer when one fails, then rejects with its error', async () => {
    const life = new Lifecycle();
    const stopped: string[] = [];
    life.defer('a', () => stopped.push('a'));
    life.defer('b', () => {
      throw new Error('b broke');
    });
    life.defer('c', () => stopped.push('c'));
    await expect(life.stop()).rejects.toThrow('b broke');
    expect(stopped).toEqual(['c', 'a']);
  });

  it('rejects with every error when several fail', async () => {
    const life = new Lifecycle();
    life.defer('a', () => Promise.reject(new Error('a broke')));
    life.defer('b', () => Promise.reject(new Error('b broke')));
    const error = await life.stop().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).errors.map((e: Error) => e.message)).toEqual([
      'b broke',
      'a broke',
    ]);
  });

  it('stops what a failed start had started, and rethrows the start error', async () => {
    const life = new Lifecycle();
    const stopped: string[] = [];
    const start = life.starting(async () => {
      life.defer('database', () => stopped.push('database'));
      life.defer('kafka', () => stopped.push('kafka'));
      throw new Error('port in use');
    });
    await expect(start).rejects.toThrow('port in use');
    expect(stopped).toEqual(['kafka', 'database']);
    expect(life.size).toBe(0);
  });

  it('hands back what a successful start returns and keeps its parts', async () => {
    const life = new Lifecycle();
    const url = await life.starting(async () => {
      life.defer('http', () => undefined);
      return 'http://127.0.0.1:1';
    });
    expect(url).toBe('http://127.0.0.1:1');
    expect(life.size).toBe(1);
  });
});
