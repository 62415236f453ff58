import { expect } from 'chai';
import { DialPlanApp, validateFlow, type FlowDraft, type FlowExit } from '../../domain/flow/flow';

type StepDraft = FlowDraft['steps'][number];

const noAnswer = (stepId: string): FlowExit => ({ on: 'noAnswer', stepId });

function forward(id: string, target = '+442079460000', exits: FlowExit[] = [], ringTimeoutSeconds?: number | null): StepDraft {
  return { id, app: DialPlanApp.FORWARD, forward: { target, ringTimeoutSeconds }, exits };
}

function hangup(id: string, status = 486, exits: FlowExit[] = []): StepDraft {
  return { id, app: DialPlanApp.HANGUP, hangup: { status }, exits };
}

describe('validateFlow: WEBHOOK steps', () => {
  const webhook = (id: string, exits: FlowExit[], declared: string[] = [], url = 'https://hooks.example.com/route'): StepDraft => ({
    id,
    app: DialPlanApp.WEBHOOK,
    webhook: { url, exits: declared, secret: 'a-secret-of-16-chars' },
    exits,
  });

  it('accepts the declared exits and success/failure, and stores the settings normalised', () => {
    const result = validateFlow({
      entryStepId: 'ask',
      steps: [webhook('ask', [{ on: 'sales', stepId: 'busy' }, { on: 'success', stepId: 'busy' }, { on: 'failure', stepId: 'busy' }], ['sales']), hangup('busy')],
    });
    expect(result.ok).to.equal(true);
    const step = result.ok ? result.flow.steps[0] : null;
    expect(step).to.deep.include({ webhook: { url: 'https://hooks.example.com/route', timeoutSeconds: 3, secret: 'a-secret-of-16-chars', exits: ['sales'] } });
  });

  it('refuses an exit the step did not declare', () => {
    const result = validateFlow({ entryStepId: 'ask', steps: [webhook('ask', [{ on: 'support', stepId: 'busy' }], ['sales']), hangup('busy')] });
    expect(result).to.deep.equal({ ok: false, problems: ['flow.steps[0].exits[0].on: a WEBHOOK step has exits sales, success, failure, not "support"'] });
  });

  it('refuses a loopback URL unless the context allows its network', () => {
    const draft: FlowDraft = { entryStepId: 'ask', steps: [webhook('ask', [], [], 'http://127.0.0.1:8080/x')] };
    const refused = validateFlow(draft);
    expect(refused.ok).to.equal(false);
    expect(refused.ok ? [] : refused.problems).to.deep.equal(['flow.steps[0].webhook.url: the address 127.0.0.1 is loopback (RFC 1122), not in the allowed networks']);
    expect(validateFlow(draft, { webhookAllowedNetworks: ['127.0.0.0/8'] }).ok).to.equal(true);
  });

  it('refuses a secret with a lone surrogate (not text, and not storable as JSON), never quoting it', () => {
    const secret = 'sixteen-chars-ok\ud800';
    const result = validateFlow({ entryStepId: 'ask', steps: [{ id: 'ask', app: DialPlanApp.WEBHOOK, webhook: { url: 'https://hooks.example.com/', secret }, exits: [] }] });
    expect(result).to.deep.equal({ ok: false, problems: ['flow.steps[0].webhook.secret: not well-formed Unicode text'] });
    expect(validateFlow({ entryStepId: 'ask', steps: [{ id: 'ask', app: DialPlanApp.WEBHOOK, webhook: { url: 'https://hooks.example.com/', secret: 'sixteen-chars-ok\u{1f600}' }, exits: [] }] }).ok).to.equal(true);
  });

  it('does not count as waiting: a loop of webhooks is refused, a loop through a FORWARD is not', () => {
    const spinning = validateFlow({ entryStepId: 'a', steps: [webhook('a', [{ on: 'failure', stepId: 'b' }]), webhook('b', [{ on: 'success', stepId: 'a' }])] });
    expect(spinning).to.deep.equal({ ok: false, problems: ['flow.steps: loop without a waiting app: a -> b -> a'] });
    const held = validateFlow({ entryStepId: 'a', steps: [webhook('a', [{ on: 'failure', stepId: 'b' }]), forward('b', '+442079460000', [noAnswer('a')])] });
    expect(held.ok).to.equal(true);
  });
});

describe('validateFlow: RING_GROUP steps', () => {
  const TRUNK = '7b0e4a5c-2f43-4b8e-9f0e-0a1b2c3d4e5f';
  const ringGroup = (settings: Record<string, unknown>): FlowDraft => ({
    entryStepId: 'group',
    steps: [{ id: 'group', app: DialPlanApp.RING_GROUP, ringGroup: settings as never, exits: [noAnswer('busy')] }, hangup('busy')],
  });
  const problemsOf = (settings: Record<string, unknown>): string[] => {
    const result = validateFlow(ringGroup(settings));
    return result.ok ? [] : result.problems;
  };
  const targets = (count: number) => Array.from({ length: count }, (_, i) => ({ target: `+4420794600${String(i).padStart(2, '0')}` }));

  it('accepts numbers, sip: URIs and trunk targets, normalised, with the group default of 30 s and per-target times kept or null', () => {
    const result = validateFlow(ringGroup({ strategy: 'SEQUENTIAL', targets: [{ target: '+44 20 7946 0000', ringTimeoutSeconds: 5 }, { target: 'sip:desk@10.0.0.5' }, { target: `trunk:${TRUNK.toUpperCase()}`, ringTimeoutSeconds: 300 }] }));
    expect(result.ok && result.flow.steps[0]).to.deep.include({
      ringGroup: {
        strategy: 'SEQUENTIAL',
        targets: [
          { target: '+442079460000', ringTimeoutSeconds: 5 },
          { target: 'sip:desk@10.0.0.5', ringTimeoutSeconds: null },
          { target: `trunk:${TRUNK}`, ringTimeoutSeconds: 300 },
        ],
        ringTimeoutSeconds: 30,
      },
    });
  });

  it('takes 1 and 20 targets, refuses 0 and 21', () => {
    expect(problemsOf({ strategy: 'PARALLEL', targets: targets(1) })).to.deep.equal([]);
    expect(problemsOf({ strategy: 'PARALLEL', targets: targets(20) })).to.deep.equal([]);
    expect(problemsOf({ strategy: 'PARALLEL', targets: [] })).to.deep.equal(['flow.steps[0].ringGroup.targets: 1..20 targets']);
    expect(problemsOf({ strategy: 'PARALLEL', targets: targets(21) })).to.deep.equal(['flow.steps[0].ringGroup.targets: 1..20 targets']);
  });

  it('takes ring times 5 and 300, refuses 4 and 301, for the group and each target', () => {
    expect(problemsOf({ strategy: 'PARALLEL', targets: [{ target: '+442079460000', ringTimeoutSeconds: 5 }], ringTimeoutSeconds: 300 })).to.deep.equal([]);
    expect(problemsOf({ strategy: 'PARALLEL', targets: [{ target: '+442079460000', ringTimeoutSeconds: 300 }], ringTimeoutSeconds: 5 })).to.deep.equal([]);
    expect(problemsOf({ strategy: 'PARALLEL', targets: [{ target: '+442079460000', ringTimeoutSeconds: 4 }], ringTimeoutSeconds: 301 })).to.deep.equal([
      'flow.steps[0].ringGroup.ringTimeoutSeconds must be 5..300',
      'flow.steps[0].ringGroup.targets[0].ringTimeoutSeconds must be 5..300',
    ]);
    expect(problemsOf({ strategy: 'SEQUENTIAL', targets: [{ target: '+442079460000', ringTimeoutSeconds: 301 }], ringTimeoutSeconds: 4 })).to.have.length(2);
  });

  it('refuses a target that is no number, URI or trunk id, and an unknown strategy', () => {
    expect(problemsOf({ strategy: 'PARALLEL', targets: [{ target: 'trunk:not-a-uuid' }, { target: 'tel:+442079460000' }, { target: '02079460000' }] })).to.deep.equal([
      'flow.steps[0].ringGroup.targets[0].target: "trunk:not-a-uuid" is neither an E.164 number, a sip: URI nor trunk:<trunk id>',
      'flow.steps[0].ringGroup.targets[1].target: "tel:+442079460000" is neither an E.164 number, a sip: URI nor trunk:<trunk id>',
      'flow.steps[0].ringGroup.targets[2].target: "02079460000" is neither an E.164 number, a sip: URI nor trunk:<trunk id>',
    ]);
    expect(problemsOf({ strategy: 'RANDOM', targets: targets(1) })).to.deep.equal(['flow.steps[0].ringGroup.strategy must be PARALLEL or SEQUENTIAL']);
  });
});
