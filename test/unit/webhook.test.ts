import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import {
  MAX_WEBHOOK_EXITS,
  MAX_WEBHOOK_SECRET_CHARS,
  MAX_WEBHOOK_URL_CHARS,
  MIN_WEBHOOK_SECRET_CHARS,
  normaliseWebhook,
  webhookExit,
  webhookExits,
  webhookProblems,
  webhookRequestBody,
  webhookSignature,
  type WebhookAnswer,
  type WebhookDraft,
} from '../../domain/webhook';

const AT = 'flow.steps[1].webhook';
const ok: WebhookDraft = { url: 'https://hooks.example.com/route' };

describe('webhookProblems', () => {
  const rows: { name: string; draft: WebhookDraft; allowed?: string[]; problems: string[] }[] = [
    { name: 'a plain https URL', draft: ok, problems: [] },
    { name: 'an http URL with a port, query and all settings', draft: { url: 'http://hooks.example.com:8080/a?b=c', timeoutSeconds: 10, secret: 's'.repeat(16), exits: ['sales', 'support_2', 'x-y'] }, problems: [] },
    { name: 'a public IPv4 literal', draft: { url: 'http://8.8.8.8/' }, problems: [] },
    { name: 'a public IPv6 literal', draft: { url: 'http://[2606:4700::1]/' }, problems: [] },
    { name: 'a loopback literal inside an allowed network', draft: { url: 'http://127.0.0.1:8080/' }, allowed: ['127.0.0.0/8'], problems: [] },
    { name: 'not a URL', draft: { url: 'hooks.example.com/route' }, problems: [`${AT}.url: "hooks.example.com/route" is not an absolute URL`] },
    { name: 'ftp', draft: { url: 'ftp://hooks.example.com/' }, problems: [`${AT}.url: "ftp://hooks.example.com/" is not an http or https URL`] },
    { name: 'file', draft: { url: 'file:///etc/passwd' }, problems: [`${AT}.url: "file:///etc/passwd" is not an http or https URL`] },
    { name: 'user info', draft: { url: 'https://user:pw@hooks.example.com/' }, problems: [`${AT}.url: a user name or password in the URL is not allowed; use the secret`] },
    { name: 'a user name alone', draft: { url: 'https://user@hooks.example.com/' }, problems: [`${AT}.url: a user name or password in the URL is not allowed; use the secret`] },
    { name: 'port 0', draft: { url: 'https://hooks.example.com:0/' }, problems: [`${AT}.url: port 0 is not a port`] },
    { name: 'a fragment', draft: { url: 'https://hooks.example.com/#x' }, problems: [`${AT}.url: a fragment (#...) is never sent; remove it`] },
    { name: 'a newline the URL parser would drop', draft: { url: 'https://hooks.exa\nmple.com/' }, problems: [`${AT}.url: "https://hooks.exa\\nmple.com/" contains whitespace or control characters`] },
    { name: 'a space', draft: { url: ' https://hooks.example.com/' }, problems: [`${AT}.url: " https://hooks.example.com/" contains whitespace or control characters`] },
    { name: 'loopback', draft: { url: 'http://127.0.0.1/' }, problems: [`${AT}.url: the address 127.0.0.1 is loopback (RFC 1122), not in the allowed networks`] },
    { name: 'loopback in inet_aton shorthand', draft: { url: 'http://127.1/' }, problems: [`${AT}.url: the address 127.0.0.1 is loopback (RFC 1122), not in the allowed networks`] },
    { name: 'loopback as one decimal number', draft: { url: 'http://2130706433/' }, problems: [`${AT}.url: the address 127.0.0.1 is loopback (RFC 1122), not in the allowed networks`] },
    { name: 'loopback in hex', draft: { url: 'http://0x7f.0.0.1/' }, problems: [`${AT}.url: the address 127.0.0.1 is loopback (RFC 1122), not in the allowed networks`] },
    { name: 'the metadata address', draft: { url: 'http://169.254.169.254/latest/meta-data/' }, problems: [`${AT}.url: the address 169.254.169.254 is link-local, incl. cloud metadata (RFC 3927), not in the allowed networks`] },
    { name: 'IPv6 loopback', draft: { url: 'http://[::1]/' }, problems: [`${AT}.url: the address ::1 is loopback, not in the allowed networks`] },
    { name: 'IPv4-mapped private', draft: { url: 'http://[::ffff:10.0.0.1]/' }, problems: [`${AT}.url: the address ::ffff:a00:1 is private (RFC 1918), not in the allowed networks`] },
    { name: 'a private literal outside the allowed network', draft: { url: 'http://10.0.0.1/' }, allowed: ['127.0.0.0/8'], problems: [`${AT}.url: the address 10.0.0.1 is private (RFC 1918), not in the allowed networks`] },
    { name: 'timeout 0', draft: { ...ok, timeoutSeconds: 0 }, problems: [`${AT}.timeoutSeconds: a whole number from 1 to 10`] },
    { name: 'timeout 1', draft: { ...ok, timeoutSeconds: 1 }, problems: [] },
    { name: 'timeout 11', draft: { ...ok, timeoutSeconds: 11 }, problems: [`${AT}.timeoutSeconds: a whole number from 1 to 10`] },
    { name: 'timeout 2.5', draft: { ...ok, timeoutSeconds: 2.5 }, problems: [`${AT}.timeoutSeconds: a whole number from 1 to 10`] },
    { name: 'a secret one short', draft: { ...ok, secret: 's'.repeat(MIN_WEBHOOK_SECRET_CHARS - 1) }, problems: [`${AT}.secret: 16 to 256 characters`] },
    { name: 'the longest secret', draft: { ...ok, secret: 's'.repeat(MAX_WEBHOOK_SECRET_CHARS) }, problems: [] },
    { name: 'a secret one too long', draft: { ...ok, secret: 's'.repeat(MAX_WEBHOOK_SECRET_CHARS + 1) }, problems: [`${AT}.secret: 16 to 256 characters`] },
    { name: 'a secret with a control character', draft: { ...ok, secret: `${'s'.repeat(16)}\u0000` }, problems: [`${AT}.secret: control characters are not allowed`] },
    { name: 'the most exits', draft: { ...ok, exits: Array.from({ length: MAX_WEBHOOK_EXITS }, (_, i) => `e${i}`) }, problems: [] },
    { name: 'one exit too many', draft: { ...ok, exits: Array.from({ length: MAX_WEBHOOK_EXITS + 1 }, (_, i) => `e${i}`) }, problems: [`${AT}.exits: at most 10 exits besides success and failure`] },
    { name: 'a reserved exit', draft: { ...ok, exits: ['sales', 'success'] }, problems: [`${AT}.exits[1]: success is always an exit of a webhook; do not declare it`] },
    { name: 'failure declared', draft: { ...ok, exits: ['failure'] }, problems: [`${AT}.exits[0]: failure is always an exit of a webhook; do not declare it`] },
    { name: 'a duplicate exit', draft: { ...ok, exits: ['sales', 'sales'] }, problems: [`${AT}.exits[1]: sales is given twice`] },
    { name: 'an empty exit name', draft: { ...ok, exits: [''] }, problems: [`${AT}.exits[0]: "" must be 1..64 letters, digits, "_" or "-"`] },
    { name: 'an exit name with a space', draft: { ...ok, exits: ['to sales'] }, problems: [`${AT}.exits[0]: "to sales" must be 1..64 letters, digits, "_" or "-"`] },
    { name: 'an exit name of 64', draft: { ...ok, exits: ['x'.repeat(64)] }, problems: [] },
    // Cut to 64 characters and an ellipsis: the 65-character name is never quoted whole.
    { name: 'an exit name of 65', draft: { ...ok, exits: ['x'.repeat(65)] }, problems: [`${AT}.exits[0]: "${'x'.repeat(64)}…" must be 1..64 letters, digits, "_" or "-"`] },
  ];
  for (const row of rows) {
    it(`${row.problems.length === 0 ? 'accepts' : 'refuses'} ${row.name}`, () => {
      expect(webhookProblems(row.draft, AT, row.allowed ?? [])).to.deep.equal(row.problems);
    });
  }

  it('accepts a URL at the length limit and refuses one past it, quoting neither', () => {
    const prefix = 'https://hooks.example.com/';
    const atLimit = prefix + 'a'.repeat(MAX_WEBHOOK_URL_CHARS - prefix.length);
    expect(webhookProblems({ url: atLimit }, AT, [])).to.deep.equal([]);
    expect(webhookProblems({ url: `${atLimit}a` }, AT, [])).to.deep.equal([`${AT}.url: at most ${MAX_WEBHOOK_URL_CHARS} characters`]);
  });

  it('never echoes long input whole', () => {
    const problems = webhookProblems({ url: `gopher://${'x'.repeat(1000)}`, exits: ['y'.repeat(1000)] }, AT, []);
    expect(problems).to.have.length(2);
    for (const problem of problems) expect(problem.length).to.be.below(200);
  });

  it('never quotes the secret', () => {
    const secret = 'short-secret!';
    expect(webhookProblems({ ...ok, secret }, AT, []).join(' ')).not.to.include(secret);
  });
});

describe('normaliseWebhook', () => {
  it('stores the canonical URL and the default timeout', () => {
    expect(normaliseWebhook({ url: 'HTTPS://Hooks.Example.COM:443/a' })).to.deep.equal({ url: 'https://hooks.example.com/a', timeoutSeconds: 3, secret: null, exits: [] });
  });
  it('keeps given settings', () => {
    expect(normaliseWebhook({ url: 'http://h.example/', timeoutSeconds: 7, secret: 'k'.repeat(16), exits: ['a'] })).to.deep.equal({
      url: 'http://h.example/',
      timeoutSeconds: 7,
      secret: 'k'.repeat(16),
      exits: ['a'],
    });
  });
  it('lists the declared exits and then the reserved ones', () => {
    expect(webhookExits({ exits: ['sales', 'support'] })).to.deep.equal(['sales', 'support', 'success', 'failure']);
  });
});

describe('webhookRequestBody and webhookSignature', () => {
  const facts = {
    callId: 'a84b4c76e66710@pc33.example',
    companyId: '5b0d3c1e-8f7a-4c2b-9d1e-2f3a4b5c6d7e',
    trunkId: '9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    did: '+442079460000',
    caller: null,
    failoverReason: 'NOT_REGISTERED',
    at: new Date('2026-03-29T00:59:59.500Z'),
  };

  it('sends exactly the call facts, in a fixed order', () => {
    expect(webhookRequestBody(facts)).to.equal(
      '{"callId":"a84b4c76e66710@pc33.example","companyId":"5b0d3c1e-8f7a-4c2b-9d1e-2f3a4b5c6d7e","trunkId":"9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",' +
        '"did":"+442079460000","caller":null,"failoverReason":"NOT_REGISTERED","at":"2026-03-29T00:59:59.500Z"}',
    );
  });

  it('signs "<t>.<body>" with HMAC-SHA256 (a vector computed independently)', () => {
    const secret = 'whsec_0123456789abcdef';
    const body = '{"callId":"x"}';
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(`1780000000.${body}`, 'utf8')).digest('hex');
    expect(webhookSignature(secret, body, 1780000000)).to.equal(`t=1780000000,v1=${expected}`);
  });

  it('matches a fixed vector (from openssl dgst -sha256 -hmac)', () => {
    // printf '%s' '1700000000.{}' | openssl dgst -sha256 -hmac 'key-0123456789abcd'
    const v1 = '2c0864cb6da9dbf7c5b284a805f4d451cd77a508e430ff492feb0deed4b212d1';
    expect(webhookSignature('key-0123456789abcd', '{}', 1700000000.9)).to.equal(`t=1700000000,v1=${v1}`);
  });

  it('signs the body as UTF-8 bytes', () => {
    const body = '{"caller":"Zoë ☎"}';
    const v1 = createHmac('sha256', 'k'.repeat(16)).update(Buffer.concat([Buffer.from('5.'), Buffer.from(body, 'utf8')])).digest('hex');
    expect(webhookSignature('k'.repeat(16), body, 5)).to.equal(`t=5,v1=${v1}`);
  });
});

describe('webhookExit', () => {
  const declared = ['sales', 'support'];
  const answer = (status: number, body: string): WebhookAnswer => ({ kind: 'answer', status, body });
  const rows: { name: string; answer: WebhookAnswer; exit: string }[] = [
    { name: 'a declared exit', answer: answer(200, '{"exit":"sales"}'), exit: 'sales' },
    { name: 'a declared exit with a 201', answer: answer(201, '{"exit":"support","note":1}'), exit: 'support' },
    { name: 'a declared exit on 299', answer: answer(299, '{"exit":"sales"}'), exit: 'sales' },
    { name: 'success named', answer: answer(200, '{"exit":"success"}'), exit: 'success' },
    { name: 'failure named', answer: answer(200, '{"exit":"failure"}'), exit: 'failure' },
    { name: 'an empty 204', answer: answer(204, ''), exit: 'success' },
    { name: 'an empty object', answer: answer(200, '{}'), exit: 'success' },
    { name: 'exit null', answer: answer(200, '{"exit":null}'), exit: 'success' },
    { name: 'whitespace only', answer: answer(200, ' \n'), exit: 'success' },
    { name: 'an unknown exit', answer: answer(200, '{"exit":"billing"}'), exit: 'failure' },
    { name: 'an exit in another case', answer: answer(200, '{"exit":"Sales"}'), exit: 'failure' },
    { name: 'an exit that is not a string', answer: answer(200, '{"exit":1}'), exit: 'failure' },
    { name: 'an inherited exit', answer: answer(200, '{"__proto__":{"exit":"sales"}}'), exit: 'success' },
    { name: 'a JSON array', answer: answer(200, '["sales"]'), exit: 'failure' },
    { name: 'a JSON string', answer: answer(200, '"sales"'), exit: 'failure' },
    { name: 'JSON null', answer: answer(200, 'null'), exit: 'failure' },
    { name: 'not JSON', answer: answer(200, 'sales'), exit: 'failure' },
    { name: 'truncated JSON', answer: answer(200, '{"exit":"sal'), exit: 'failure' },
    { name: 'a 199', answer: answer(199, '{"exit":"sales"}'), exit: 'failure' },
    { name: 'a 300', answer: answer(300, '{"exit":"sales"}'), exit: 'failure' },
    { name: 'a redirect', answer: answer(302, ''), exit: 'failure' },
    { name: 'a 404', answer: answer(404, '{"exit":"sales"}'), exit: 'failure' },
    { name: 'a 500', answer: answer(500, '{"exit":"sales"}'), exit: 'failure' },
    { name: 'a timeout', answer: { kind: 'failure', failure: 'TIMEOUT' }, exit: 'failure' },
    { name: 'a refused destination', answer: { kind: 'failure', failure: 'REFUSED_DESTINATION' }, exit: 'failure' },
    { name: 'an oversized body', answer: { kind: 'failure', failure: 'RESPONSE_TOO_LARGE' }, exit: 'failure' },
    { name: 'a DNS failure', answer: { kind: 'failure', failure: 'DNS_FAILED' }, exit: 'failure' },
    { name: 'a refused connection', answer: { kind: 'failure', failure: 'CONNECTION_FAILED' }, exit: 'failure' },
  ];
  for (const row of rows) {
    it(`takes ${row.exit} on ${row.name}`, () => expect(webhookExit(row.answer, declared).exit).to.equal(row.exit));
  }

  it('says why, quoting an unknown exit briefly', () => {
    expect(webhookExit(answer(500, ''), declared).why).to.equal('status 500');
    expect(webhookExit({ kind: 'failure', failure: 'TIMEOUT' }, declared).why).to.equal('TIMEOUT');
    expect(webhookExit(answer(200, JSON.stringify({ exit: 'z'.repeat(5000) })), declared).why.length).to.be.below(100);
  });
});
