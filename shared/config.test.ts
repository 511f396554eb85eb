import { ConfigError, DEFAULT_PORTS, SERVICE_NAMES, loadConfig, portSettings, portVariable, servesPartnership } from './config.js';

describe('hub configuration: which partnership a hub serves', () => {
  it('serves lothian-hscp with no peer hubs by default, on the default ports: the single hub as before', () => {
    const config = loadConfig({});
    expect(config.partnership).toEqual({ id: 'lothian-hscp', peerHubs: [] });
    expect(config.ports).toEqual(DEFAULT_PORTS);
    expect(servesPartnership(config.partnership, 'fife-hscp')).toBe(true);
  });

  it('moves every port by INFOSHARE_PORT_OFFSET, while a port set on its own still wins', () => {
    const config = loadConfig({ INFOSHARE_PORT_OFFSET: '100', INFOSHARE_MPI_PORT: '5001' });
    expect(config.ports).toEqual({ directory: 4100, mpi: 5001, alerts: 4102, plans: 4103, audit: 4104, 'agency-sim': 4110 });
    expect(config.urls.alerts).toBe('http://localhost:4102');
    expect(config.token.issuer).toBe('http://localhost:4100/auth');
  });

  it('names for each service the variable that sets its port on its own (what tests and start hints write)', () => {
    for (const [i, service] of SERVICE_NAMES.entries()) {
      expect(loadConfig({ [portVariable(service)]: String(5000 + i) }).ports[service]).toBe(5000 + i);
    }
  });

  it('puts each service on the port given by one set of settings (a hub on ports of the caller’s choosing), and no other', () => {
    expect(portSettings({ directory: 5000, 'agency-sim': 5010 })).toEqual({ INFOSHARE_DIRECTORY_PORT: '5000', INFOSHARE_AGENCY_SIM_PORT: '5010' });
    const moved = Object.fromEntries(SERVICE_NAMES.map((service, i) => [service, 6000 + i]));
    expect(loadConfig(portSettings(moved)).ports).toEqual(moved);
  });

  it('leaves the agencies of a peer hub’s partnership to that hub and serves every other', () => {
    const config = loadConfig({ INFOSHARE_PARTNERSHIP: 'fife-hscp', INFOSHARE_PEER_HUBS: ' lothian-hscp , ' });
    expect(config.partnership).toEqual({ id: 'fife-hscp', peerHubs: ['lothian-hscp'] });
    expect(servesPartnership(config.partnership, 'lothian-hscp')).toBe(false);
    expect(servesPartnership(config.partnership, 'fife-hscp')).toBe(true);
  });

  it('refuses a peer list naming the hub’s own partnership, and ids that are not Organization ids', () => {
    expect(() => loadConfig({ INFOSHARE_PARTNERSHIP: 'fife-hscp', INFOSHARE_PEER_HUBS: 'fife-hscp' })).toThrow(/names fife-hscp, the partnership this hub serves itself/);
    let error: unknown;
    try {
      loadConfig({ INFOSHARE_PARTNERSHIP: 'fife hscp', INFOSHARE_PEER_HUBS: 'lothian/hscp' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^INFOSHARE_PARTNERSHIP: /), expect.stringMatching(/^INFOSHARE_PEER_HUBS/)]);
  });
});
