import { hubLocationPrefix } from './hub-location.js';

describe('what another terminal needs to reach the hub start runs', () => {
  it('names nothing for a hub where a plain terminal looks', () => {
    expect(hubLocationPrefix({})).toBe('');
    expect(hubLocationPrefix({ INFOSHARE_PORT_OFFSET: '0', INFOSHARE_DATA_DIR: '.data', INFOSHARE_LOG_LEVEL: 'warn' })).toBe('');
  });

  it('repeats the port offset of a hub moved off ports in use', () => {
    expect(hubLocationPrefix({ INFOSHARE_PORT_OFFSET: '200' })).toBe('INFOSHARE_PORT_OFFSET=200 ');
  });

  it('repeats ports set one by one, the public base and the data directory (where the Redis note is)', () => {
    expect(
      hubLocationPrefix({ INFOSHARE_DIRECTORY_PORT: '5000', INFOSHARE_AGENCY_SIM_PORT: '5010', INFOSHARE_DATA_DIR: '.data/fife-hscp', INFOSHARE_PUBLIC_BASE: 'http://127.0.0.1' }),
    ).toBe('INFOSHARE_DIRECTORY_PORT=5000 INFOSHARE_AGENCY_SIM_PORT=5010 INFOSHARE_PUBLIC_BASE=http://127.0.0.1 INFOSHARE_DATA_DIR=.data/fife-hscp ');
  });

  it('quotes a value the shell would split', () => {
    expect(hubLocationPrefix({ INFOSHARE_DATA_DIR: "/tmp/my hub's data" })).toBe(`INFOSHARE_DATA_DIR='/tmp/my hub'\\''s data' `);
  });
});
