import { expect } from 'chai';
import { NOTIFYING_TABLES, parseConfigChange, type ConfigChange, type ConfigOp, type ConfigTable } from '../../schema/config-change';

const UUID = '0b9f2c4e-5d1a-4c57-9a43-2f1e8d6b7c10';

describe('parseConfigChange: accepted payloads', () => {
  const ops: ConfigOp[] = ['INSERT', 'UPDATE', 'DELETE'];
  const rows: { name: string; payload: string; expected: ConfigChange }[] = [
    ...(Object.keys(NOTIFYING_TABLES) as ConfigTable[]).flatMap((table) =>
      ops.map((op) => {
        const id = table === 'did' ? '+442079460000' : UUID;
        return { name: `${op} on ${table}`, payload: JSON.stringify({ table, id, op }), expected: { table, id, op } };
      }),
    ),
    { name: 'TRUNCATE with id "*"', payload: '{"table":"trunk","id":"*","op":"TRUNCATE"}', expected: { table: 'trunk', id: '*', op: 'TRUNCATE' } },
    {
      name: 'extra fields are dropped',
      payload: JSON.stringify({ table: 'carrier', id: UUID, op: 'UPDATE', row: { name: 'x' } }),
      expected: { table: 'carrier', id: UUID, op: 'UPDATE' },
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      expect(parseConfigChange(row.payload)).to.deep.equal(row.expected);
    });
  }
});

describe('parseConfigChange: refused payloads', () => {
  const rows: { name: string; payload: string }[] = [
    { name: 'not JSON', payload: 'trunk:INSERT' },
    { name: 'truncated JSON', payload: '{"table":"trunk","id":' },
    { name: 'empty', payload: '' },
    { name: 'JSON null', payload: 'null' },
    { name: 'a JSON string', payload: '"trunk"' },
    { name: 'a JSON number', payload: '42' },
    { name: 'a JSON array', payload: '["trunk","x","INSERT"]' },
    { name: 'an empty object', payload: '{}' },
    { name: 'an empty id', payload: '{"table":"trunk","id":"","op":"INSERT"}' },
    { name: 'an unknown table', payload: `{"table":"users","id":"${UUID}","op":"INSERT"}` },
    { name: 'a table name in capitals', payload: `{"table":"TRUNK","id":"${UUID}","op":"INSERT"}` },
    { name: 'an inherited name as table: constructor', payload: `{"table":"constructor","id":"${UUID}","op":"INSERT"}` },
    { name: 'an inherited name as table: toString', payload: `{"table":"toString","id":"${UUID}","op":"DELETE"}` },
    { name: 'an inherited name as table: __proto__', payload: `{"table":"__proto__","id":"${UUID}","op":"UPDATE"}` },
    { name: 'a table that is not a string', payload: `{"table":1,"id":"${UUID}","op":"INSERT"}` },
    { name: 'an unknown op', payload: `{"table":"trunk","id":"${UUID}","op":"UPSERT"}` },
    { name: 'an op in lower case', payload: `{"table":"trunk","id":"${UUID}","op":"insert"}` },
    { name: 'no op', payload: `{"table":"trunk","id":"${UUID}"}` },
    { name: 'an id that is not a string', payload: '{"table":"trunk","id":7,"op":"INSERT"}' },
    { name: 'no id', payload: '{"table":"trunk","op":"TRUNCATE"}' },
  ];
  for (const row of rows) {
    it(row.name, () => {
      expect(parseConfigChange(row.payload)).to.equal(null);
    });
  }
});
