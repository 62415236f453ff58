import os from 'node:os';
import { expect } from 'chai';
import { ConfigError, parseConfig, type Config } from '../../app/config';

const CWD = '/srv/trunks';
const KEY = 'k'.repeat(32);

const DEFAULTS: Config = {
  role: 'all',
  databaseUrl: undefined,
  dataDir: `${CWD}/.data`,
  apiHost: '127.0.0.1',
  apiPort: 4000,
  sipHost: '127.0.0.1',
  sipPort: 5060,
  sipPublicAddress: '127.0.0.1',
  sipRealm: 'trunks.local',
  sipWorkers: os.availableParallelism(),
  operatorApiKey: undefined,
  logLevel: 'info',
};

describe('parseConfig: defaults', () => {
  it('an empty environment and no arguments give the defaults', () => {
    expect(parseConfig({}, [], CWD)).to.deep.equal(DEFAULTS);
  });

  it('blank values count as unset', () => {
    const blank = { API_HOST: '', API_PORT: ' ', SIP_REALM: '', DATABASE_URL: '  ', DATA_DIR: '', LOG_LEVEL: '', OPERATOR_API_KEY: '' };
    expect(parseConfig(blank, [], CWD)).to.deep.equal(DEFAULTS);
  });

  it('returns a frozen snapshot', () => {
    expect(Object.isFrozen(parseConfig({}, [], CWD))).to.equal(true);
  });
});

describe('parseConfig: each setting', () => {
  const rows: { name: string; env?: Record<string, string>; argv?: string[]; expected: Partial<Config> }[] = [
    { name: 'DATABASE_URL', env: { DATABASE_URL: 'postgres://u:p@db/trunks' }, expected: { databaseUrl: 'postgres://u:p@db/trunks' } },
    { name: 'DATA_DIR', env: { DATA_DIR: '/var/lib/trunks' }, expected: { dataDir: '/var/lib/trunks' } },
    { name: 'API_HOST as IPv4', env: { API_HOST: '0.0.0.0' }, expected: { apiHost: '0.0.0.0' } },
    { name: 'API_HOST as IPv6', env: { API_HOST: '::' }, expected: { apiHost: '::' } },
    { name: 'API_HOST localhost', env: { API_HOST: 'localhost' }, expected: { apiHost: 'localhost' } },
    { name: 'API_PORT', env: { API_PORT: '8080' }, expected: { apiPort: 8080 } },
    { name: 'API_PORT with blanks', env: { API_PORT: ' 8080 ' }, expected: { apiPort: 8080 } },
    { name: 'API_PORT 0 (any free port)', env: { API_PORT: '0' }, expected: { apiPort: 0 } },
    { name: 'API_PORT 65535', env: { API_PORT: '65535' }, expected: { apiPort: 65535 } },
    { name: 'SIP_HOST, also the public address by default', env: { SIP_HOST: '192.0.2.10' }, expected: { sipHost: '192.0.2.10', sipPublicAddress: '192.0.2.10' } },
    { name: 'SIP_PORT', env: { SIP_PORT: '5080' }, expected: { sipPort: 5080 } },
    {
      name: 'SIP_PUBLIC_ADDRESS apart from SIP_HOST',
      env: { SIP_HOST: '10.0.0.5', SIP_PUBLIC_ADDRESS: '198.51.100.7' },
      expected: { sipHost: '10.0.0.5', sipPublicAddress: '198.51.100.7' },
    },
    {
      name: 'SIP_PUBLIC_ADDRESS as IPv6, with or without brackets',
      env: { SIP_HOST: '::1', SIP_PUBLIC_ADDRESS: '[2001:db8::7]' },
      expected: { sipHost: '::1', sipPublicAddress: '2001:db8::7' },
    },
    { name: 'SIP_HOST as IPv6, also the public address', env: { SIP_HOST: '::1' }, expected: { sipHost: '::1', sipPublicAddress: '::1' } },
    { name: 'SIP_REALM', env: { SIP_REALM: 'sip.example-carrier.net' }, expected: { sipRealm: 'sip.example-carrier.net' } },
    { name: 'SIP_WORKERS 1', env: { SIP_WORKERS: '1' }, expected: { sipWorkers: 1 } },
    { name: 'SIP_WORKERS 64', env: { SIP_WORKERS: '64' }, expected: { sipWorkers: 64 } },
    { name: 'OPERATOR_API_KEY of 32 characters', env: { OPERATOR_API_KEY: KEY }, expected: { operatorApiKey: KEY } },
    ...(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const).map((logLevel) => ({
      name: `LOG_LEVEL ${logLevel}`,
      env: { LOG_LEVEL: logLevel },
      expected: { logLevel },
    })),
    ...(['api', 'sip', 'all'] as const).flatMap((role) => [
      { name: `--role ${role}`, argv: ['--role', role], expected: { role } },
      { name: `--role=${role}`, argv: [`--role=${role}`], expected: { role } },
    ]),
    { name: 'the last --role wins', argv: ['--role', 'api', '--role=sip'], expected: { role: 'sip' } },
  ];
  for (const row of rows) {
    it(row.name, () => {
      expect(parseConfig(row.env ?? {}, row.argv ?? [], CWD)).to.deep.equal({ ...DEFAULTS, ...row.expected });
    });
  }
});

describe('parseConfig: errors', () => {
  const rows: { name: string; env?: Record<string, string>; argv?: string[]; message: string }[] = [
    ...['-1', '65536', '80.5', 'http', '80abc', '0x1F90', '1e3'].flatMap((value) =>
      ['API_PORT', 'SIP_PORT'].map((name) => ({ name: `${name}=${value}`, env: { [name]: value }, message: `${name} must be a port number 0..65535, got "${value}"` })),
    ),
    ...['example.com', '127.0.0.256', '[::1]'].flatMap((value) =>
      ['API_HOST', 'SIP_HOST'].map((name) => ({ name: `${name}=${value}`, env: { [name]: value }, message: `${name} must be an IP address, got "${value}"` })),
    ),
    { name: '--role without a value', argv: ['--role'], message: '--role must be one of api, sip, all, got ""' },
    { name: '--role with an unknown role', argv: ['--role', 'proxy'], message: '--role must be one of api, sip, all, got "proxy"' },
    { name: '--role= with an unknown role', argv: ['--role=API'], message: '--role must be one of api, sip, all, got "API"' },
    { name: 'an unknown option', argv: ['--verbose'], message: 'unknown argument "--verbose" (accepted: --role api|sip|all)' },
    { name: 'a bare role without --role', argv: ['sip'], message: 'unknown argument "sip" (accepted: --role api|sip|all)' },
    { name: 'OPERATOR_API_KEY of 31 characters', env: { OPERATOR_API_KEY: 'k'.repeat(31) }, message: 'OPERATOR_API_KEY must be at least 32 characters' },
    {
      name: 'LOG_LEVEL in capitals',
      env: { LOG_LEVEL: 'INFO' },
      message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "INFO"',
    },
    {
      name: 'LOG_LEVEL unknown',
      env: { LOG_LEVEL: 'verbose' },
      message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    },
    ...['0', '65', '1.5', 'many'].map((value) => ({
      name: `SIP_WORKERS=${value}`,
      env: { SIP_WORKERS: value },
      message: `SIP_WORKERS must be an integer 1..64, got "${value}"`,
    })),
    ...['bad realm', 'a_b', 'trunks.local:5060', 'x'.repeat(254)].map((value) => ({
      name: `SIP_REALM=${value.length > 40 ? `${value.length} characters` : value}`,
      env: { SIP_REALM: value },
      message: `SIP_REALM must be a host name, got "${value}"`,
    })),
  ];
  for (const row of rows) {
    it(row.name, () => {
      expect(() => parseConfig(row.env ?? {}, row.argv ?? [], CWD))
        .to.throw(ConfigError, row.message)
        .with.property('name', 'ConfigError');
    });
  }
});
