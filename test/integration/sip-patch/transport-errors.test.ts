import dgram from 'node:dgram';
import net from 'node:net';
import { expect } from 'chai';
import * as sip from 'sip';
import { Fixture, HOST, freeUdpPort, request, waitFor } from './harness';

/**
 * Socket errors and what is switched on. Unpatched, no socket or server had an 'error' listener: a port
 * already in use (reported after create() returned) was an uncaught exception that ended the process, and so
 * was a logger.recv that threw.
 */
describe('sip patch: transport errors', () => {
  let fixture: Fixture;
  const holders: { close(callback: () => void): unknown }[] = [];
  beforeEach(async () => {
    fixture = await Fixture.create();
  });
  afterEach(async () => {
    await Promise.all(holders.splice(0).map((holder) => new Promise<void>((resolve) => holder.close(() => resolve()))));
    await fixture.close();
  });

  function holdUdp(port: number): Promise<void> {
    const socket = dgram.createSocket('udp4');
    holders.push(socket);
    return new Promise((resolve) => socket.bind(port, HOST, () => resolve()));
  }

  function holdTcp(port: number): Promise<void> {
    const server = net.createServer();
    holders.push(server);
    return new Promise((resolve) => server.listen(port, HOST, () => resolve()));
  }

  it('reports a UDP port already in use to onTransportError', async () => {
    const port = await freeUdpPort();
    await holdUdp(port);
    const errors: string[] = [];

    await fixture.stack(undefined, { port, onTransportError: (error, protocol) => errors.push(`${protocol} ${(error as NodeJS.ErrnoException).code}`) });

    await waitFor(() => errors.length > 0, 'the error');
    expect(errors).to.deep.equal(['UDP EADDRINUSE']);
  });

  it('reports TCP and WebSocket ports already in use to onTransportError', async () => {
    const port = await freeUdpPort();
    const wsPort = await freeUdpPort();
    await holdTcp(port);
    await holdTcp(wsPort);
    const errors: string[] = [];
    const options: sip.CreateOptions = { port, tcp: true, onTransportError: (error, protocol) => errors.push(`${protocol} ${(error as NodeJS.ErrnoException).code}`) };

    await fixture.stack(undefined, Object.assign(options, { ws_port: wsPort }));

    await waitFor(() => errors.length === 2, 'two errors');
    expect(errors.sort()).to.deep.equal(['TCP EADDRINUSE', 'WS EADDRINUSE']);
  });

  it('goes on handling a message when logger.recv throws', async () => {
    const holder: { stack?: sip.SipStack } = {};
    const { stack: callee, port } = await fixture.stack(
      (rq) => {
        holder.stack?.send(sip.makeResponse(rq, 200, 'OK'));
      },
      {
        logger: {
          recv: () => {
            throw new Error('logger failure');
          },
        },
      },
    );
    holder.stack = callee;
    const { stack } = await fixture.stack();
    const responses: sip.SipResponse[] = [];

    stack.send(request('OPTIONS', `sip:callee@${HOST}:${port}`), (response) => responses.push(response));

    expect((await waitFor(() => responses[0], 'the 200')).status).to.equal(200);
  });

  it('binds no TCP listener with tcp: false (unchanged: this was already so)', async () => {
    const { port } = await fixture.stack(undefined, { tcp: false });

    await holdTcp(port);
  });

  it('answers 503 Service Unavailable for a next hop on a transport that is off', async () => {
    const { stack } = await fixture.stack(undefined, { tcp: false });
    const responses: sip.SipResponse[] = [];

    stack.send(request('OPTIONS', `sip:peer@${HOST}:5999;transport=tcp`), (response) => responses.push(response));

    const response = await waitFor(() => responses[0], 'a response');
    expect(response.status).to.equal(503);
    expect(response.reason).to.equal('Service Unavailable');
  });
});
