import { inRuns } from './batch';

describe('inRuns', () => {
  const isEven = (n: number): n is number => n % 2 === 0;

  async function walk(items: number[]): Promise<string[]> {
    const seen: string[] = [];
    await inRuns(
      items,
      isEven,
      async (run) => void seen.push(`run ${run.join(',')}`),
      async (item) => void seen.push(`one ${item}`),
    );
    return seen;
  }

  it('hands maximal runs to `run` and the rest to `single`, in order', async () => {
    expect(await walk([2, 4, 1, 6, 3, 5, 8, 10, 12])).toEqual([
      'run 2,4',
      'one 1',
      'run 6',
      'one 3',
      'one 5',
      'run 8,10,12',
    ]);
  });

  it('copes with nothing, all in one run, and none in a run', async () => {
    expect(await walk([])).toEqual([]);
    expect(await walk([2, 4])).toEqual(['run 2,4']);
    expect(await walk([1, 3])).toEqual(['one 1', 'one 3']);
  });
});
