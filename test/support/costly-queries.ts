/**
 * The GraphQL queries of issue 6 that froze the API (and, sharing its thread, the SIP edge), for
 * test/integration/api/query-limits.test.ts and bench/api-vs-sip.ts.
 */

/** The 24 KB query of 8,000 repeated fields: quadratic in graphql-js's OverlappingFieldsCanBeMerged. */
export const REPEATED_FIELDS_QUERY = `{ companies { edges { node { ${'id '.repeat(8000)}} } } }`;

/** 1.3 KB of aliases nested through fragments: each level multiplies the answer by four. */
export const NESTED_ALIASES_QUERY = `query ($companyId: ID) {
  a: trunks(companyId: $companyId, first: 200) { ...C } b: trunks(companyId: $companyId, first: 200) { ...C }
  c: trunks(companyId: $companyId, first: 200) { ...C } d: trunks(companyId: $companyId, first: 200) { ...C }
}
fragment C on TrunkConnection { a: edges { ...E } b: edges { ...E } c: edges { ...E } d: edges { ...E } }
fragment E on TrunkEdge { cursor a: node { ...T } b: node { ...T } c: node { ...T } d: node { ...T } }
fragment T on Trunk { id name sipUsername inboundNumbers maxConcurrentCalls digestAlgorithms activeCalls createdAt updatedAt
  a: failover { ...F } b: failover { ...F } c: failover { ...F } d: failover { ...F } }
fragment F on FailoverSettings { enabled noProvisionalTimeoutSeconds triggerStatusCodes
  a: dialPlan { ...D } b: dialPlan { ...D } c: dialPlan { ...D } d: dialPlan { ...D } }
fragment D on DialPlan { id name internalNumber externalNumber a: flow { ...W } b: flow { ...W } c: flow { ...W } d: flow { ...W } }
fragment W on Flow { entryStepId a: steps { ...S } b: steps { ...S } c: steps { ...S } d: steps { ...S } }
fragment S on FlowStep { id app a: exits { on stepId } b: exits { on stepId } c: exits { on stepId } d: exits { on stepId } }`;
