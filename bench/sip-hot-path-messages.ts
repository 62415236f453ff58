import { BENCH_SDP_LINES } from './measure';

/**
 * The messages of one proxied call as they cross the wire (carrier -> proxy -> PBX, with Record-Route),
 * for the `sip` hot-path benchmark: parse and stringify costs per message kind.
 */
const lines = (...parts: string[]): string => parts.join('\r\n');

const SDP = lines(...BENCH_SDP_LINES);

const withBody = (head: string[], body = ''): string => lines(...head, `Content-Length: ${Buffer.byteLength(body, 'binary')}`, '', body);

const DIALOG = [
  'From: "Caller" <sip:+4917612345678@carrier.example.com>;tag=as5f1b2c3d',
  'Call-ID: 3c26700b5f1e-4a7d@carrier.example.com',
];

export const MESSAGES: Readonly<Record<string, string>> = {
  INVITE: withBody(
    [
      'INVITE sip:+493012345678@203.0.113.5:5060 SIP/2.0',
      'Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK6a1f0c2e9b8d7a6f5e4d3c2b;rport',
      'Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-524287-1---8f4c1e2b9a7d3c61;received=198.51.100.10;rport=5060',
      'Max-Forwards: 68',
      'Record-Route: <sip:203.0.113.5;lr>',
      'Record-Route: <sip:198.51.100.10;lr;ftag=as5f1b2c3d>',
      'Contact: <sip:+4917612345678@198.51.100.10:5060>',
      'To: <sip:+493012345678@trunks.example.net>',
      ...DIALOG,
      'CSeq: 102 INVITE',
      'User-Agent: Carrier SBC',
      'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, PRACK, UPDATE',
      'Supported: replaces, timer',
      'Content-Type: application/sdp',
    ],
    SDP,
  ),
  '200 OK': withBody(
    [
      'SIP/2.0 200 OK',
      'Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK6a1f0c2e9b8d7a6f5e4d3c2b;rport=5060',
      'Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-524287-1---8f4c1e2b9a7d3c61;received=198.51.100.10;rport=5060',
      'Record-Route: <sip:203.0.113.5;lr>',
      'Record-Route: <sip:198.51.100.10;lr;ftag=as5f1b2c3d>',
      'Contact: <sip:pbx@192.0.2.20:5060>',
      'To: <sip:+493012345678@trunks.example.net>;tag=8a7b6c5d',
      ...DIALOG,
      'CSeq: 102 INVITE',
      'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE',
      'Content-Type: application/sdp',
    ],
    SDP,
  ),
  ACK: withBody([
    'ACK sip:pbx@192.0.2.20:5060 SIP/2.0',
    'Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK0d9e8f7a6b5c4d3e2f1a0b9c;rport',
    'Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-524287-1---3e1f5a7c9b2d4f60;received=198.51.100.10;rport=5060',
    'Max-Forwards: 69',
    'To: <sip:+493012345678@trunks.example.net>;tag=8a7b6c5d',
    ...DIALOG,
    'CSeq: 102 ACK',
  ]),
  BYE: withBody([
    'BYE sip:pbx@192.0.2.20:5060 SIP/2.0',
    'Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK1c2d3e4f5a6b7c8d9e0f1a2b;rport',
    'Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-524287-1---7b9d1f3a5c7e9f0b;received=198.51.100.10;rport=5060',
    'Max-Forwards: 69',
    'To: <sip:+493012345678@trunks.example.net>;tag=8a7b6c5d',
    ...DIALOG,
    'CSeq: 103 BYE',
  ]),
};
