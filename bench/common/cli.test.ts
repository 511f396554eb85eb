import { choiceFlag, positiveFlag, readFlags, UsageError } from './cli.js';

describe('bench command lines', () => {
  it('reads --name value and --name=value pairs', () => {
    const values = readFlags(['--records', '20_000', '--fsync=always'], ['records', 'fsync']);
    expect(positiveFlag(values, 'records', 1)).toBe(20_000);
    expect(choiceFlag(values, 'fsync', ['everysec', 'always'], 'everysec')).toBe('always');
  });

  it('uses the default when an option is absent', () => {
    const values = readFlags([], ['records']);
    expect(positiveFlag(values, 'records', 100_000)).toBe(100_000);
    expect(choiceFlag(values, 'fsync', ['everysec', 'always'], 'everysec')).toBe('everysec');
  });

  it('refuses unknown options, missing values and stray arguments with a message for the usage', () => {
    expect(() => readFlags(['--recrods', '5'], ['records'])).toThrow(new UsageError('Unknown option --recrods'));
    expect(() => readFlags(['--records'], ['records'])).toThrow(new UsageError('--records needs a value'));
    expect(() => readFlags(['records'], ['records'])).toThrow(new UsageError('Unexpected argument records'));
  });

  it('refuses a count that is not a positive integer and a value outside the choices', () => {
    expect(() => positiveFlag(readFlags(['--records', '1.5'], ['records']), 'records', 1)).toThrow('--records must be a positive integer (got 1.5)');
    expect(() => positiveFlag(readFlags(['--records', '0'], ['records']), 'records', 1)).toThrow(UsageError);
    expect(() => choiceFlag(readFlags(['--fsync', 'never'], ['fsync']), 'fsync', ['everysec', 'always'], 'everysec')).toThrow('--fsync is everysec or always');
  });

  it('answers --help with an empty message (usage only, exit 0)', () => {
    expect(() => readFlags(['--help'], [])).toThrow(new UsageError(''));
  });
});
