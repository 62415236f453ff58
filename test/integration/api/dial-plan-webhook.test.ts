import { expect } from 'chai';
import { OPERATOR_KEY, TestApi } from '../../support/api';

const FIELDS = `id flow { entryStepId steps { id app webhook { url timeoutSeconds signed exits } exits { on stepId } } }`;
const CREATE = `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateDialPlanInput!) { updateDialPlan(id: $id, input: $input) { ${FIELDS} } }`;
const SET_NETWORKS = `mutation ($cidrs: [String!]!) { setWebhookAllowedNetworks(cidrs: $cidrs) }`;
const SECRET = 'webhook-secret-0123456789';

interface Plan {
  id: string;
  flow: { steps: { id: string; webhook: { url: string; timeoutSeconds: number; signed: boolean; exits: string[] } | null }[] };
}

function webhookFlow(webhook: Record<string, unknown>): Record<string, unknown> {
  return {
    entryStepId: 'ask',
    steps: [
      { id: 'ask', app: 'WEBHOOK', webhook, exits: [{ on: 'sales', stepId: 'busy' }, { on: 'failure', stepId: 'busy' }] },
      { id: 'busy', app: 'HANGUP', hangup: { status: 486 } },
    ],
  };
}

describe('dial plans: WEBHOOK steps through the API', () => {
  let api: TestApi;
  let company: { id: string; key: string };
  let serial = 0;

  before(async () => {
    api = await TestApi.start();
    company = await api.company('Hook Co');
  });
  after(async () => {
    await api.stop();
  });

  const input = (flow: Record<string, unknown>) => ({ companyId: company.id, name: `Hook ${++serial}`, internalNumber: String(600 + serial), flow });

  it('stores a webhook step; the secret is never returned, only signed', async () => {
    const result = await api.request<{ createDialPlan: Plan }>(company.key, CREATE, {
      input: input(webhookFlow({ url: 'https://Hooks.Example.com:443/route?x=1', secret: SECRET, exits: ['sales'] })),
    });
    expect(result.errors).to.equal(undefined);
    expect(result.data?.createDialPlan.flow.steps[0].webhook).to.deep.equal({ url: 'https://hooks.example.com/route?x=1', timeoutSeconds: 3, signed: true, exits: ['sales'] });
    expect(result.text).to.not.include(SECRET);
    const [row] = await api.dataSource.query('SELECT flow FROM dial_plan WHERE id = $1', [result.data?.createDialPlan.id]);
    expect(row.flow.steps[0].webhook.secret).to.equal(SECRET);
  });

  it('on update, a step that leaves its secret out keeps it; null removes it', async () => {
    const { createDialPlan: plan } = await api.ok<{ createDialPlan: Plan }>(company.key, CREATE, {
      input: input(webhookFlow({ url: 'https://hooks.example.com/a', secret: SECRET, exits: ['sales'] })),
    });
    const kept = await api.ok<{ updateDialPlan: Plan }>(company.key, UPDATE, { id: plan.id, input: { flow: webhookFlow({ url: 'https://hooks.example.com/b', exits: ['sales'] }) } });
    expect(kept.updateDialPlan.flow.steps[0].webhook).to.include({ url: 'https://hooks.example.com/b', signed: true });
    const [row] = await api.dataSource.query('SELECT flow FROM dial_plan WHERE id = $1', [plan.id]);
    expect(row.flow.steps[0].webhook.secret).to.equal(SECRET);
    const removed = await api.ok<{ updateDialPlan: Plan }>(company.key, UPDATE, { id: plan.id, input: { flow: webhookFlow({ url: 'https://hooks.example.com/b', secret: null, exits: ['sales'] }) } });
    expect(removed.updateDialPlan.flow.steps[0].webhook?.signed).to.equal(false);
  });

  it('refuses an IP-literal URL outside the allowed networks with BAD_USER_INPUT, and accepts it once the operator allows the network', async () => {
    const flow = webhookFlow({ url: 'http://127.0.0.1:8080/hook', exits: ['sales'] });
    const refused = await api.request(company.key, CREATE, { input: input(flow) });
    expect(refused.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
    expect(refused.text).to.include('flow.steps[0].webhook.url: the address 127.0.0.1 is loopback');
    for (const url of ['http://169.254.169.254/latest', 'http://10.0.0.1/', 'http://[::1]/', 'http://2130706433/']) {
      expect(await api.errorCode(company.key, CREATE, { input: input(webhookFlow({ url })) }), url).to.equal('BAD_USER_INPUT');
    }
    await api.ok(OPERATOR_KEY, SET_NETWORKS, { cidrs: ['127.0.0.0/8'] });
    try {
      const accepted = await api.ok<{ createDialPlan: Plan }>(company.key, CREATE, { input: input(flow) });
      expect(accepted.createDialPlan.flow.steps[0].webhook?.url).to.equal('http://127.0.0.1:8080/hook');
    } finally {
      await api.ok(OPERATOR_KEY, SET_NETWORKS, { cidrs: [] });
    }
  });

  const refusals: { name: string; webhook: Record<string, unknown>; exits?: unknown[]; problem: string }[] = [
    { name: 'a timeout of 11 s', webhook: { url: 'https://hooks.example.com/', timeoutSeconds: 11 }, problem: 'webhook.timeoutSeconds: a whole number from 1 to 10' },
    { name: 'a timeout of 0 s', webhook: { url: 'https://hooks.example.com/', timeoutSeconds: 0 }, problem: 'webhook.timeoutSeconds: a whole number from 1 to 10' },
    { name: 'a short secret', webhook: { url: 'https://hooks.example.com/', secret: 'short' }, problem: 'webhook.secret: 16 to 256 characters' },
    { name: 'a reserved exit declared', webhook: { url: 'https://hooks.example.com/', exits: ['success'] }, problem: 'success is always an exit of a webhook' },
    { name: 'an ftp URL', webhook: { url: 'ftp://hooks.example.com/' }, problem: 'is not an http or https URL' },
    { name: 'an exit it did not declare', webhook: { url: 'https://hooks.example.com/', exits: [] }, problem: 'a WEBHOOK step has exits success, failure, not' },
  ];
  for (const row of refusals) {
    it(`refuses ${row.name} with BAD_USER_INPUT naming the step`, async () => {
      const result = await api.request(company.key, CREATE, { input: input(webhookFlow(row.webhook)) });
      expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
      expect(result.text).to.include(row.problem).and.include('flow.steps[0]');
      expect(result.text).to.not.include('short"');
    });
  }

  it('refuses a loop made only of webhooks', async () => {
    const flow = {
      entryStepId: 'a',
      steps: [
        { id: 'a', app: 'WEBHOOK', webhook: { url: 'https://hooks.example.com/a' }, exits: [{ on: 'failure', stepId: 'b' }] },
        { id: 'b', app: 'WEBHOOK', webhook: { url: 'https://hooks.example.com/b' }, exits: [{ on: 'failure', stepId: 'a' }] },
      ],
    };
    const result = await api.request(company.key, CREATE, { input: input(flow) });
    expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
    expect(result.text).to.include('loop without a waiting app: a -> b -> a');
  });
});
