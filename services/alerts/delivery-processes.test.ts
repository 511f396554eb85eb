import { DELIVERY_SEMI_SPACE_MB, deliveryExecArgv } from './delivery-processes.js';

describe('deliveryExecArgv', () => {
  it('adds the delivery processes’ young-generation size to the service’s own flags', () => {
    expect(deliveryExecArgv(['--enable-source-maps'])).toEqual(['--enable-source-maps', `--max-semi-space-size=${DELIVERY_SEMI_SPACE_MB}`]);
  });

  it('keeps a size the service was started with, in its flags or in NODE_OPTIONS', () => {
    expect(deliveryExecArgv(['--max-semi-space-size=8'])).toEqual(['--max-semi-space-size=8']);
    expect(deliveryExecArgv([], '--inspect --max_semi_space_size=32')).toEqual([]);
  });
});
