import { hubLocationPrefix, portInUseAdvice } from './hub-location.js';

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

  it('advises moving a hub whose ports are taken past where it is: 200 more than its offset', () => {
    expect(portInUseAdvice(4000, 0)).toBe(
      'Port 4000 is already in use (another hub, or a test run?). Stop what listens there, or move this hub: ' +
        '`INFOSHARE_PORT_OFFSET=200 npm start` (ports 4200-4210), and give every command you run against it the same INFOSHARE_PORT_OFFSET.',
    );
    // A hub already moved by 200 (the advice taken once) is not told to move to where it is.
    expect(portInUseAdvice(4200, 200)).toContain('`INFOSHARE_PORT_OFFSET=400 npm start` (ports 4400-4410)');
    expect(portInUseAdvice(4900, 900)).toContain('`INFOSHARE_PORT_OFFSET=1100 npm start` (ports 5100-5110)');
  });
});
